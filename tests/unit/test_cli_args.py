"""The CLI's argument parsing: every bad value is a one-line error (exit 2), good ones parse."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from origin_auditor.cli import (
    UsageError,
    main,
    parse_at,
    parse_duration,
    parse_host_port,
    parse_protocols,
    parse_resolve,
    parse_timeout,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("origin.example.com", ("origin.example.com", 443)),
        ("origin.example.com:8443", ("origin.example.com", 8443)),
        ("https://origin.example.com:444/path", ("origin.example.com", 444)),
        ("[::1]:8443", ("::1", 8443)),
        ("[2001:db8::1]", ("2001:db8::1", 443)),
        ("2001:db8::1", ("2001:db8::1", 443)),
        ("127.0.0.1:4443", ("127.0.0.1", 4443)),
    ],
)
def test_host_port_forms_parse(spec: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(spec) == expected


@pytest.mark.parametrize("spec", ["origin:0", "origin:70000", "origin:https", "http://origin", "[::1",
                                  "", "bad host", "a..b"])
def test_bad_host_port_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_host_port(spec)


def test_protocols_are_canonicalised_and_validated() -> None:
    assert parse_protocols("tlsv1.2, TLSv1") == ("TLSv1.2", "TLSv1")
    with pytest.raises(UsageError, match=r"TLSv1\.3"):
        parse_protocols("TLSv1.3")
    with pytest.raises(UsageError):
        parse_protocols(" , ")


def test_at_accepts_z_and_naive_times_as_utc() -> None:
    assert parse_at("2026-12-01T00:00:00Z") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parse_at("2026-12-01T00:00:00").tzinfo == dt.UTC
    with pytest.raises(UsageError):
        parse_at("next tuesday")


@pytest.mark.parametrize("value", ["0", "-1", "0.25", "60.5", "121", "abc", "nan", "inf"])
def test_timeout_out_of_range_is_rejected(value: str) -> None:
    with pytest.raises(UsageError):
        parse_timeout(value)


def test_durations() -> None:
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_duration("3h") == dt.timedelta(hours=3)
    assert parse_duration("1d") == dt.timedelta(days=1)
    assert parse_duration("5m") == dt.timedelta(minutes=5)
    assert parse_duration("7d") == dt.timedelta(days=7)
    for bad in ("10s", "4m", "8d", "16d", "3 hours", ""):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_resolve_mapping() -> None:
    assert parse_resolve(["Origin.Test.=127.0.0.2,127.0.0.3"]) == {"origin.test": ["127.0.0.2", "127.0.0.3"]}
    with pytest.raises(UsageError):
        parse_resolve(["origin.test"])
    with pytest.raises(UsageError):
        parse_resolve(["origin.test=not-an-ip"])


def test_main_turns_bad_arguments_into_exit_2_with_one_line() -> None:
    err = io.StringIO()
    assert main(["check", "origin.test", "--timeout", "500"], out=io.StringIO(), err=err) == 2
    assert err.getvalue().count("\n") == 1
    assert "--timeout" in err.getvalue()


def test_main_rejects_unknown_command_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_unreadable_bundle_is_exit_2(tmp_path: object) -> None:
    err = io.StringIO()
    assert main(["check-bundle", "/nonexistent/bundle.pem", "--host", "a.test"], out=io.StringIO(),
                err=err) == 2
    assert "cannot read" in err.getvalue()
