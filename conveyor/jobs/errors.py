"""Error types that cross the workflow boundary by name."""

# ApplicationError types the retry policies never retry: the payload itself is
# wrong, so another attempt would fail the same way.
BAD_INPUT = "BadJobInput"
NON_RETRYABLE_ERRORS = [BAD_INPUT]
