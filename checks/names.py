"""Check names other modules refer to (kept import-free to avoid cycles)."""

CONSENT_RULES = "consent_rules_hold_now"
NO_COPIES_OF_EXCLUDED = "no_copies_of_excluded_content"
NO_PII = "no_pii_remains"

# The release gate demands these passed for every partition it packages (see checks/gate.py).
CORPUS_BLOCKING_CHECKS: tuple[str, ...] = ("filtered_corpus_schema", CONSENT_RULES, NO_COPIES_OF_EXCLUDED, NO_PII)
