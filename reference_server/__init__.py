"""The bundled SCIM 2.0 reference server: the model answer the harness is proven against."""
