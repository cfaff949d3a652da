"""Error types that cross the workflow boundary by name."""

# ApplicationError types the retry policies never retry: the payload itself is
# wrong, so another attempt would fail the same way.
BAD_INPUT = "BadJobInput"
# The org runs as many jobs of this kind as it may: the workflow waits and asks again.
ORG_AT_LIMIT = "OrgAtConcurrencyLimit"
NON_RETRYABLE_ERRORS = [BAD_INPUT, ORG_AT_LIMIT]
