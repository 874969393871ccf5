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


def _load_examples_script():  # type: ignore[no-untyped-def]
    import importlib.util
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "scripts" / "readme_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Times in the example are the demo's clock shifted to a stand-in; a certificate's expiry and the
# run's end can fall either side of a minute boundary, so times are compared as placeholders.
_TIMES = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?Z?")


def test_readme_example_messages_are_what_the_demo_publishes() -> None:
    examples = _load_examples_script()
    readme = (ROOT / "README.md").read_text()
    shown = re.search(re.escape(examples.START) + r".*?" + re.escape(examples.END), readme, flags=re.S)
    assert shown is not None, "README has no example-messages block"
    fresh = examples.block(examples.demo_output())
    assert _TIMES.sub("<time>", shown.group()) == _TIMES.sub("<time>", fresh), \
        "README example messages are stale: run `make docs`"


def test_readme_example_email_fits_80_columns_but_commands_and_urls() -> None:
    readme = (ROOT / "README.md").read_text()
    email = readme.split("<!-- example-messages:start -->")[1].split("```text\n")[1].split("\n```")[0]
    wide = [line for line in email.split("\n")
            if len(line) > 80 and not line.startswith("    openssl s_client ") and len(line.split()) > 1]
    assert wide == []
    assert "LATENT (cache is hiding it)" in readme.split("<!-- example-messages:start -->")[1]
