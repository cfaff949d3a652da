"""Temporal workers: one module per task queue, built from settings."""
