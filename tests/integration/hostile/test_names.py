"""Names that try to fool the hostname check: NUL bytes in SAN and CN, IDNA U-labels against
A-labels, and control characters that would forge lines in a report."""

from __future__ import annotations

from origin_auditor.model import Verdict

from .conftest import MixedRun, codes, only


def test_san_with_a_nul_byte_does_not_match_the_name_before_the_nul(mixed_run: MixedRun) -> None:
    r = mixed_run.results["nul-san"]
    assert codes(r) == ["HOSTNAME_MISMATCH"]
    message = only(r, "HOSTNAME_MISMATCH").message
    assert "good.test\\x00.evil.test" in message  # shown escaped, never the raw NUL
    assert "\x00" not in message


def test_cn_with_a_nul_byte_does_not_match_the_name_before_the_nul(mixed_run: MixedRun) -> None:
    r = mixed_run.results["nul-cn"]
    assert codes(r) == ["CERT_CN_ONLY", "HOSTNAME_MISMATCH"]
    assert r.verdict == Verdict.FAIL
    assert all("\x00" not in f.message for f in r.findings)


def test_u_label_server_name_matches_its_a_label_san(mixed_run: MixedRun) -> None:
    r = mixed_run.results["idna-match"]
    assert r.target.sni == "bücher.test"
    assert r.verdict == Verdict.PASS and r.findings == ()


def test_different_u_label_does_not_match_an_a_label_san(mixed_run: MixedRun) -> None:
    r = mixed_run.results["idna-mismatch"]
    assert codes(r) == ["HOSTNAME_MISMATCH"]
    message = only(r, "HOSTNAME_MISMATCH").message
    assert "'bûcher.test'" in message and "xn--bcher-kva.test" in message


def test_control_characters_in_certificate_names_are_escaped_in_findings_and_summaries(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["control-chars"]
    assert codes(r) == ["CERT_SELF_SIGNED", "HOSTNAME_MISMATCH"]
    texts = [f.message for f in r.findings] + [c.subject for a in r.addresses for c in a.chain]
    for text in texts:
        assert text.isprintable(), text
    assert "evil\\x1b[2J\\x0d\\x0aPASS" in only(r, "CERT_SELF_SIGNED").message
    assert "a\\x0aFAIL b.test" in only(r, "HOSTNAME_MISMATCH").message


def test_non_printable_characters_above_latin1_are_escaped_unambiguously(mixed_run: MixedRun) -> None:
    message = only(mixed_run.results["control-chars"], "CERT_SELF_SIGNED").message
    assert "\\u202e" in message
