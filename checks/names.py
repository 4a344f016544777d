"""Check names other modules refer to (kept import-free to avoid cycles)."""

CONSENT_RULES = "consent_rules_hold_now"

# The release gate demands these passed for every partition it packages (see checks/gate.py).
CORPUS_BLOCKING_CHECKS: tuple[str, ...] = ("filtered_corpus_schema", CONSENT_RULES)
