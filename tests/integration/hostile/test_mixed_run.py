"""The one mixed run as a whole: it finishes within a bound, keeps every target, and gives the
ordinary origins between the hostile ones exactly their own result."""

from __future__ import annotations

import hashlib

from origin_auditor.model import Verdict

from .conftest import BOUND, NOTE, MixedRun, codes

EXPECTED_PASS = ("good-1", "good-3", "good-4", "good-with-note", "date-9999", "date-1950-2049",
                 "date-1949-2050", "san-20000", "idna-match", "many-addresses")


def test_run_with_hostile_origins_finishes_within_ten_times_the_timeout(mixed_run: MixedRun) -> None:
    # Generous on purpose: proves the run is bounded by the timeout, not how fast it is.
    assert mixed_run.elapsed < BOUND


def test_every_target_gets_exactly_one_result_in_input_order(mixed_run: MixedRun) -> None:
    assert [r.target for r in mixed_run.ordered] == list(mixed_run.targets)
    assert len(mixed_run.results) == len(mixed_run.targets)


def test_ordinary_origins_between_hostile_ones_pass_with_no_findings(mixed_run: MixedRun) -> None:
    for name in ("good-1", "good-3", "good-4"):
        r = mixed_run.results[name]
        assert r.verdict == Verdict.PASS, (name, r.findings)
        assert r.findings == (), name
        [address] = r.addresses
        assert address.protocol == "TLSv1.2"
        sent = [hashlib.sha256(c.der).hexdigest() for c in mixed_run.origins[name].certs["chain"]]
        assert [c.sha256 for c in address.chain] == sent


def test_ordinary_broken_origins_get_exactly_their_own_finding(mixed_run: MixedRun) -> None:
    assert codes(mixed_run.results["control-incomplete"]) == ["CHAIN_INCOMPLETE"]
    assert codes(mixed_run.results["control-wrong-order"]) == ["CHAIN_WRONG_ORDER"]


# Too many certificates but within what TLS clients accept (under OpenSSL's 100 KiB): the chain
# path itself is valid and within the kept part, so it is not known to fail at CloudFront.
EXPECTED_WARN = {"hundreds-under-100k"}


def test_every_hostile_origin_fails_with_a_specific_finding(mixed_run: MixedRun) -> None:
    for name, r in mixed_run.results.items():
        if name in EXPECTED_PASS:
            continue
        if name in EXPECTED_WARN:
            assert r.verdict == Verdict.WARN, (name, codes(r))
            continue
        assert r.verdict == Verdict.FAIL, (name, codes(r))
        assert any(f.severity == "fail" for f in r.findings), name


def test_no_origin_ends_in_an_internal_error_or_an_unjudgeable_chain(mixed_run: MixedRun) -> None:
    for name, r in mixed_run.results.items():
        for f in r.findings:
            assert "internal error" not in f.message, (name, f)
            assert "could not be judged" not in f.message, (name, f)


def test_ordinary_origin_with_a_discovery_note_passes_with_that_note(mixed_run: MixedRun) -> None:
    r = mixed_run.results["good-with-note"]
    assert r.verdict == Verdict.PASS
    assert NOTE in r.findings


def test_discovery_note_appears_once_in_the_result(mixed_run: MixedRun) -> None:
    assert mixed_run.results["good-with-note"].findings == (NOTE,)
