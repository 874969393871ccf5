"""One options model for the CLI and the Lambda's manual event: the same values accepted, the same
defaults, the same words for a value outside the limits, and README's table saying the same."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from origin_auditor import options, pipeline, probe
from origin_auditor.audit import AuditOptions
from origin_auditor.cli import UsageError, build_parser, parse_duration, parse_timeout
from origin_auditor.events import AuditRequest, EventError, parse_event
from origin_auditor.options import CONCURRENCY, LIMITS, LOOKBACK, TIMEOUT, WARN_DAYS, OptionError

ROOT = Path(__file__).resolve().parents[2]

Outcome = tuple[object, str | None]  # (value accepted, None) or (None, the words after the name)


def cli(flag: str, text: str) -> Outcome:
    """What the CLI makes of ``flag text``: through the same path a user's typing takes."""
    if flag == TIMEOUT.flag:
        try:
            return parse_timeout(text), None
        except UsageError as e:
            assert str(e).startswith(f"{flag}: "), e
            return None, str(e).removeprefix(f"{flag}: ")
    if flag == LOOKBACK.flag:
        try:
            return parse_duration(text), None
        except UsageError as e:
            assert str(e).startswith(f"{flag}: "), e
            return None, str(e).removeprefix(f"{flag}: ")
    # The counts are argparse types: one line, "origin-auditor: error: --FLAG: ..." as for the others.
    err = io.StringIO()
    try:
        args = build_parser(io.StringIO(), err).parse_args(["check", "origin.test", flag, text])
    except SystemExit as e:
        assert e.code == 2
        [last] = err.getvalue().splitlines()
        prefix = f"origin-auditor: error: {flag}: "
        assert last.startswith(prefix), last
        return None, last.removeprefix(prefix)
    return getattr(args, flag.removeprefix("--").replace("-", "_")), None


def event(key: str, value: object) -> Outcome:
    """What the manual event makes of ``{key: value}``."""
    try:
        request = parse_event({key: value})
    except EventError as e:
        (problem,) = e.problems
        assert problem.startswith(f"{key} "), problem
        return None, problem.removeprefix(f"{key} ")
    if key == LOOKBACK.key:
        return dt.timedelta(minutes=request.lookback_minutes), None
    return getattr(request, key), None


@pytest.mark.parametrize(("limit", "values"), [
    # Each list crosses both limits, and holds what the CLI used to accept and the event not
    # (timeout 0.25 and 120, concurrency 512).
    (TIMEOUT, [0, 0.25, 0.5, 2.5, 10, 60, 60.5, 120, 121]),
    (CONCURRENCY, [0, 1, 64, 256, 257, 512, 1000]),
    (WARN_DAYS, [-1, 0, 30, 3650, 3651]),
], ids=lambda v: getattr(v, "key", ""))
def test_cli_and_event_accept_and_reject_the_same_numbers_in_the_same_words(
        limit: options.Limit[float] | options.Limit[int], values: list[float]) -> None:
    for value in values:
        from_cli, from_event = cli(limit.flag, str(value)), event(limit.key, value)
        assert from_cli == from_event, (value, from_cli, from_event)
        inside = limit.low <= value <= limit.high
        assert (from_cli[1] is None) is inside, (value, from_cli)


def test_cli_and_event_accept_and_reject_the_same_lookbacks_in_the_same_words() -> None:
    # In minutes, the unit both take (1 minute and 15 days: the CLI's old limits).
    for minutes in (1, 4, 5, 90, 180, 10080, 10081, 21600):
        from_cli, from_event = cli(LOOKBACK.flag, f"{minutes}m"), event(LOOKBACK.key, minutes)
        assert from_cli == from_event, (minutes, from_cli, from_event)
        inside = 5 <= minutes <= 7 * 24 * 60
        assert (from_cli[1] is None) is inside, (minutes, from_cli)


def test_the_words_for_a_value_out_of_range() -> None:
    assert cli(TIMEOUT.flag, "120")[1] == event(TIMEOUT.key, 120)[1] == \
        "must be between 0.5 and 60 seconds, got 120"
    assert cli(CONCURRENCY.flag, "512")[1] == "must be between 1 and 256, got 512"
    assert cli(WARN_DAYS.flag, "-1")[1] == "must be between 0 and 3650 days, got -1"
    assert cli(LOOKBACK.flag, "15d")[1] == event(LOOKBACK.key, 15 * 1440)[1] == \
        "must be between 5 minutes and 7 days, got 15 days"
    assert cli(LOOKBACK.flag, "90s")[1] == "must be between 5 minutes and 7 days, got 90 seconds"
    assert cli(TIMEOUT.flag, "nan")[1] == "must be between 0.5 and 60 seconds, got nan"


def test_the_words_for_a_value_of_the_wrong_kind() -> None:
    assert cli(TIMEOUT.flag, "soon")[1] == "must be a number of seconds, got 'soon'"
    assert event(TIMEOUT.key, "10")[1] == "must be a number of seconds, got string '10'"
    assert cli(CONCURRENCY.flag, "8.5")[1] == "must be an integer, got '8.5'"
    assert cli(CONCURRENCY.flag, "1_000")[1] == "must be an integer, got '1_000'"
    assert event(CONCURRENCY.key, 8.5)[1] == "must be an integer, got number 8.5"
    assert event(WARN_DAYS.key, True)[1] == "must be an integer, got boolean"
    assert cli(LOOKBACK.flag, "3 hours")[1] == "must be a duration like 90m, 3h or 1d, got '3 hours'"
    assert event(LOOKBACK.key, "3h")[1] == "must be an integer, got string '3h'"


def test_every_entry_point_starts_from_the_same_defaults() -> None:
    check = build_parser().parse_args(["check", "origin.test"])
    audit = build_parser().parse_args(["audit"])
    request, audit_options = AuditRequest(kind="manual"), AuditOptions()
    assert check.concurrency == request.concurrency == audit_options.concurrency == CONCURRENCY.default == 256
    assert check.warn_days == request.warn_days == audit_options.warn_days == WARN_DAYS.default == 30
    assert check.timeout is None and audit.lookback is None  # None: the CLI takes the model's default
    assert request.timeout == audit_options.timeout == TIMEOUT.default == 10.0
    assert dt.timedelta(minutes=request.lookback_minutes) == audit_options.lookback == LOOKBACK.default
    assert parse_event({}) == AuditRequest(kind="manual", notify=False)
    # The library functions under them default to the same numbers.
    for function in (pipeline.check_targets, probe.probe_targets):
        assert function.__kwdefaults__["concurrency"] == CONCURRENCY.default
        assert function.__kwdefaults__["timeout"] == TIMEOUT.default


def test_audit_options_refuse_values_outside_the_limits() -> None:
    with pytest.raises(OptionError, match=r"^concurrency must be between 1 and 256, got 0$"):
        AuditOptions(concurrency=0)
    with pytest.raises(ValueError, match=r"^lookback_minutes must be between 5 minutes and 7 days"):
        AuditOptions(lookback=dt.timedelta(days=30))


@pytest.mark.parametrize(("delta", "text"), [
    (dt.timedelta(hours=3), "3 hours"), (dt.timedelta(minutes=90), "90 minutes"),
    (dt.timedelta(days=1), "1 day"), (dt.timedelta(seconds=1), "1 second"),
    (dt.timedelta(seconds=1.5), "1.5 seconds"), (dt.timedelta(0), "0 seconds"),
])
def test_durations_are_shown_in_their_largest_whole_unit(delta: dt.timedelta, text: str) -> None:
    assert options.span_text(delta) == text


def _readme_limits() -> dict[str, tuple[str, str, str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Option limits\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(--[a-z-]+)[^`]*`[^|]*\| `([a-z_]+)`[^|]*\| ([^|]+?) \| ([^|]+?) \|",
                      section, flags=re.M)
    return {flag: (key, accepted, default) for flag, key, accepted, default in rows}


def test_readme_limits_table_matches_the_options_model() -> None:
    assert _readme_limits() == {
        limit.flag: (limit.key, limit.range_text, limit.default_text) for limit in LIMITS}


def test_readme_never_states_another_range_for_a_limited_option() -> None:
    # The `check` options table repeats the ranges: it must repeat these.
    readme = (ROOT / "README.md").read_text()
    for limit in LIMITS:
        rows = [line for line in readme.splitlines() if line.startswith(f"| `{limit.flag} ")]
        assert rows, limit.flag
        for row in rows:
            if re.search(r"\d to \d", row):
                assert limit.range_text in row, row
