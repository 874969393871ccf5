"""The CLI's argument parsing: every bad value is a one-line error (exit 2), good ones parse."""

from __future__ import annotations

import argparse
import datetime as dt
import io

import pytest

from origin_auditor.cli import (
    UsageError,
    build_parser,
    closest,
    main,
    parse_at,
    parse_duration,
    parse_host_port,
    parse_protocols,
    parse_resolve,
    parse_timeout,
    split_origin,
    target_lines,
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
    assert "invalid choice" in capsys.readouterr().err  # sys.stderr when main is given no stream


def test_unreadable_bundle_is_exit_2(tmp_path: object) -> None:
    err = io.StringIO()
    assert main(["check-bundle", "/nonexistent/bundle.pem", "--host", "a.test"], out=io.StringIO(),
                err=err) == 2
    assert "cannot read" in err.getvalue()


# ---------------------------------------------------------------- issue 11: a CLI a pipeline can script


@pytest.mark.parametrize(("spec", "expected"), [
    ("https://origin.example.com/", ("origin.example.com", 443, "")),
    ("https://origin.example.com:8443/api/v1?x=1#top", ("origin.example.com", 8443, "/api/v1?x=1#top")),
    ("HTTPS://[2001:db8::1]:444/p", ("2001:db8::1", 444, "/p")),
    ("https://origin.example.com?x=1", ("origin.example.com", 443, "?x=1")),
    ("origin.example.com:8443", ("origin.example.com", 8443, "")),
])
def test_pasted_urls_give_host_port_and_the_ignored_rest(spec: str, expected: tuple[str, int, str]) -> None:
    assert split_origin(spec) == expected


def test_resolve_accepts_a_pasted_url_as_the_name() -> None:
    assert parse_resolve(["https://Origin.Test:8443/x=127.0.0.2"]) == {"origin.test": ["127.0.0.2"]}


def test_target_lines_skip_comments_and_blank_lines_and_say_where_each_came_from() -> None:
    text = "# header\n\norigin.test\n  other.test:8443  # inline comment\n\t\n#x\nhttps://u.test/p\n"
    assert target_lines(text, "list.txt") == [
        ("list.txt:3", "origin.test"), ("list.txt:4", "other.test:8443"), ("list.txt:7", "https://u.test/p")]


def test_every_parser_refuses_abbreviations() -> None:
    parser = build_parser(io.StringIO(), io.StringIO())
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert parser.allow_abbrev is False
    assert subparsers
    for sub in subparsers[0].choices.values():
        assert sub.allow_abbrev is False


@pytest.mark.parametrize("argv", [
    ["check", "origin.test", "--concurrency", "0"],
    ["check", "origin.test", "--form", "json"],
    ["check", "origin.test", "--fail-on", "info"],
    ["check-bundle", "b.pem"],
    ["audit", "--format", "yaml"],
    ["frobnicate"],
    [],
])
def test_every_usage_error_is_one_line(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1, err.getvalue()
    assert err.getvalue().startswith("origin-auditor: error: ")


def test_closest_suggests_only_what_resembles() -> None:
    assert closest("--formt", ["--format", "--fail-on"]) == "--format"
    assert closest("--zzz", ["--format", "--fail-on"]) is None
