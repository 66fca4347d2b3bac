"""SCIM 2.0 conformance harness: a pytest plugin that drives any SCIM endpoint over HTTP."""
