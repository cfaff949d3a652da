"""Activities: the side effects of every job kind, one module per kind."""
