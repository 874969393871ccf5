"""X.509 facts: chain parsing, the issuing path, names (RFC 6125), the strict verifier. No verdicts."""
