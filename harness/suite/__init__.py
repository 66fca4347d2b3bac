"""The conformance suite shipped with the plugin: one module per RFC area."""
