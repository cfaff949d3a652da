"""The job lifecycle every job kind shares: ids, submission, the run mirror, dead letters."""
