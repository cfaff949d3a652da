"""Work the system schedules for itself: retention."""
