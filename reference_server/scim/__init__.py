"""SCIM semantics that do not touch HTTP or the database: schemas, filters, PATCH, errors."""
