"""Certificates with absurd dates: year 9999, notBefore after notAfter, and the UTCTime /
GeneralizedTime boundaries (RFC 5280 §4.1.2.5: UTCTime years 50-99 are 19xx, 00-49 are 20xx;
GeneralizedTime from 2050 on and before 1950). A two-digit year read the wrong way would turn
an expired certificate into a valid one, or a valid one into an expired one."""

from __future__ import annotations

from origin_auditor.model import Verdict

from .conftest import MixedRun, codes, generalized_time, only, utc_time


def _leaf_der(run: MixedRun, name: str) -> bytes:
    certs = run.origins[name].certs
    der: bytes = certs["leaf_der"] if "leaf_der" in certs else certs["leaf"].der
    return der


def test_not_after_in_year_9999_is_valid_and_reported_as_year_9999(mixed_run: MixedRun) -> None:
    r = mixed_run.results["date-9999"]
    assert generalized_time("99991231235959Z") in _leaf_der(mixed_run, "date-9999")
    assert r.verdict == Verdict.PASS
    assert r.findings == ()
    assert r.addresses[0].chain[0].not_after == "9999-12-31T23:59:59Z"


def test_not_before_after_not_after_is_never_valid(mixed_run: MixedRun) -> None:
    r = mixed_run.results["date-inverted"]
    # Both statements are true at any moment between the two dates, and both are about the leaf.
    assert codes(r) == ["CERT_NOT_YET_VALID", "CERT_EXPIRED"]
    assert all(f.severity == "fail" and "leaf certificate 'date-inverted.test'" in f.message
               for f in r.findings)
    assert r.verdict == Verdict.FAIL


def test_utctime_50_is_read_as_1950_and_49_as_2049(mixed_run: MixedRun) -> None:
    der = _leaf_der(mixed_run, "date-1950-2049")
    assert utc_time("500101000000Z") in der and utc_time("491231235959Z") in der
    r = mixed_run.results["date-1950-2049"]
    assert r.verdict == Verdict.PASS and r.findings == ()
    assert r.addresses[0].chain[0].not_after == "2049-12-31T23:59:59Z"


def test_generalized_time_before_1950_and_from_2050_is_read_with_its_four_digit_year(
        mixed_run: MixedRun) -> None:
    der = _leaf_der(mixed_run, "date-1949-2050")
    assert generalized_time("19491231235959Z") in der and generalized_time("20500101000000Z") in der
    r = mixed_run.results["date-1949-2050"]
    assert r.verdict == Verdict.PASS and r.findings == ()
    assert r.addresses[0].chain[0].not_after == "2050-01-01T00:00:00Z"


def test_utctime_year_50_expiry_is_expired_not_read_as_2050(mixed_run: MixedRun) -> None:
    assert utc_time("501231235959Z") in _leaf_der(mixed_run, "date-expired-1950")
    r = mixed_run.results["date-expired-1950"]
    assert codes(r) == ["CERT_EXPIRED"]
    assert "expired on 1950-12-31 23:59 UTC" in only(r, "CERT_EXPIRED").message


def test_utctime_year_49_start_is_not_yet_valid_not_read_as_1949(mixed_run: MixedRun) -> None:
    assert utc_time("490101000000Z") in _leaf_der(mixed_run, "date-future-2049")
    r = mixed_run.results["date-future-2049"]
    assert codes(r) == ["CERT_NOT_YET_VALID"]
    assert "not valid before 2049-01-01 00:00 UTC" in only(r, "CERT_NOT_YET_VALID").message


def test_generalized_time_inside_the_utctime_range_is_chain_invalid_with_the_verifiers_reason(
        mixed_run: MixedRun) -> None:
    # RFC 5280 requires UTCTime for 1950-2049. The dates themselves are fine, so no validity
    # finding; the strict verifier's rejection is reported with its reason, not swallowed.
    assert generalized_time("19500101000000Z") in _leaf_der(mixed_run, "date-generalized-1950")
    r = mixed_run.results["date-generalized-1950"]
    assert codes(r) == ["CHAIN_INVALID"]
    assert "must be UtcTime" in only(r, "CHAIN_INVALID").message
