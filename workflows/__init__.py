"""Workflows: one module per job kind, deterministic code only."""
