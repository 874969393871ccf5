"""X.509 facts: chain parsing, the issuing path, names (RFC 6125), the strict verifier, PEM
bundles. No verdicts, no wording: what these facts mean for CloudFront is ``judge``'s business."""
