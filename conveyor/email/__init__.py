"""Email sequences: steps sent on a schedule to enrolled contacts, until a stop condition."""
