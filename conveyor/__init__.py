"""Conveyor: background jobs for SaaS products on Temporal."""
