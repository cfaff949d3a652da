"""The thin HTTP layer: validates, calls a service, returns a schema."""
