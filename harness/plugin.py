"""pytest entry point (pytest11 "scim"). Placeholder until the plugin lands."""
