"""The IdP simulator: profiles, directory sync, record/replay and differential runs."""
