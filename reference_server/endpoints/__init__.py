"""Starlette endpoints: discovery, resources (CRUD and search), bulk, /Me and admin."""
