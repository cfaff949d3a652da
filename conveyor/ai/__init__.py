"""AI text tasks: task types, providers, prices, and how a task is requested."""
