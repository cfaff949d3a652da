"""Async exports: what can be exported, and how an export job is requested."""
