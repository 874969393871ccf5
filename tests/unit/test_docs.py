"""The README and the code agree: every finding code is documented with its severity, and the
architecture contract's codes all exist (add, never rename)."""

from __future__ import annotations

import re
from pathlib import Path

from origin_auditor.rules import CODES, Code

ROOT = Path(__file__).resolve().parents[2]

# The codes promised in shared/architecture.md: alert filters key on them.
CONTRACT_CODES = [
    "DNS_RESOLUTION_FAILED", "CONNECT_FAILED", "CONNECT_TIMEOUT", "HANDSHAKE_FAILED",
    "HANDSHAKE_TIMEOUT", "NO_COMMON_PROTOCOL", "NO_COMMON_CIPHER", "TLS13_ONLY", "LEGACY_PROTOCOL",
    "CLIENT_CERT_REQUESTED", "CHAIN_INCOMPLETE", "CHAIN_WRONG_ORDER", "CHAIN_UNTRUSTED_ROOT",
    "CERT_SELF_SIGNED", "CHAIN_EXTRA_CERTS", "CHAIN_INCLUDES_ROOT", "CERT_EXPIRED",
    "CERT_NOT_YET_VALID", "CERT_EXPIRING_SOON", "HOSTNAME_MISMATCH", "CERT_CN_ONLY", "KEY_UNSUPPORTED",
    "SIGNATURE_WEAK", "ADDRESSES_INCONSISTENT", "ORIGIN_HTTP_ONLY", "ORIGIN_NOT_PROBED",
    "HOST_REWRITE_UNVERIFIABLE", "ADDITIONAL_METRICS_DISABLED",
]


def test_every_contract_code_exists_with_its_exact_name() -> None:
    assert {c.value for c in Code} >= set(CONTRACT_CODES)


def test_every_code_is_documented_in_the_table() -> None:
    assert set(CODES) == set(Code)


def test_readme_table_lists_every_code_with_its_severity() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| (fail|warn|info) \|", readme, flags=re.M))
    assert rows == {str(c): info.severity for c, info in CODES.items()}
