"""The report is never lost, at any size (issue 9 §5), end to end on moto: every run's full report
in the S3 archive and named by the message; messages under SNS's limit with exact totals; only
what a message told is remembered; log events bounded whatever the report's size."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from origin_auditor import handler as handler_module
from origin_auditor.audit import AuditOptions
from origin_auditor.handler import LOG_EVENT_MAX_BYTES, bounded_result
from origin_auditor.model import AuditReport
from origin_auditor.notify import MAX_MESSAGE_BYTES, PublishFailed

from .conftest import Aws, Context, load_event
from .test_handler import BROKEN, FIXED, NOW, World, run

DAY = dt.datetime.fromtimestamp(NOW, dt.UTC).strftime("%Y/%m/%d")
STAMP = dt.datetime.fromtimestamp(NOW, dt.UTC).strftime("%H%M%S")


class NoisyWorld(World):
    """A World whose report carries ``notes`` run-level notes (throttled reads, ...)."""

    def __init__(self, notes: int, **origins: Any) -> None:
        super().__init__(**origins)
        self.notes = tuple(f"GetMonitoringSubscription for E{i:06d} failed: Throttling: Rate exceeded "
                           + "x" * 200 for i in range(notes))

    def __call__(self, options: AuditOptions) -> AuditReport:
        rep = super().__call__(options)
        return AuditReport(rep.generated_at, rep.results, rep.distributions, self.notes)


def many(n: int) -> World:
    return World(**{f"origin{i:05d}": BROKEN for i in range(n)})


def test_every_run_archives_the_full_report_by_date_and_run_id_and_the_message_links_it(aws: Aws) -> None:
    world = World(www=BROKEN, api=FIXED)
    out = run(aws, world, context=Context(aws_request_id="0f1e-req"))
    key = f"reports/{DAY}/{STAMP}Z-0f1e-req.json"
    assert out["archive"]["written"] is True and out["archive"]["key"] == key
    doc = aws.archived()[key]
    assert doc["schema"] == "origin-auditor/1" and len(doc["results"]) == 2
    assert doc["run"] == {"id": "0f1e-req", "kind": "schedule", "notify": True}
    assert [c["kind"] for c in doc["notification"]["changes"]] == ["new"]
    [note] = aws.published()
    machine = json.loads(note["Message"])
    assert machine["notification"]["report"]["uri"] == f"s3://reports/{key}"
    console = (f"https://s3.console.aws.amazon.com/s3/object/reports?region=us-east-1&prefix={key}")
    assert machine["notification"]["report"]["console_url"] == console

    # A manual run that does not notify is archived all the same.
    out = run(aws, world, load_event("manual.json"), now=NOW + 3600, context=Context(aws_request_id="r2"))
    assert out["notification"] == {"requested": False, "published": False}
    assert out["archive"]["written"] is True and out["archive"]["key"].endswith("Z-r2.json")
    assert len(aws.archived()) == 2


def test_a_failed_archive_is_said_logged_and_does_not_stop_the_message(
        aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    world = World(www=BROKEN)
    env = {**aws.env, "REPORTS_BUCKET_NAME": "no-such-bucket"}
    with caplog.at_level(logging.ERROR, logger="origin_auditor"):
        out = run(aws, world, env=env)
    assert out["archive"]["written"] is False and "NoSuchBucket" in out["archive"]["error"]
    assert out["notification"]["published"] is True
    [note] = aws.published()
    assert json.loads(note["Message"])["notification"]["report"]["error"].startswith("NoSuchBucket")
    [record] = [r for r in caplog.records if r.getMessage() == "report not archived"]
    assert record.bucket == "no-such-bucket" and "NoSuchBucket" in record.error  # type: ignore[attr-defined]
    assert aws.state()  # the state still advances: what the message told was told


def test_a_thousand_run_notes_still_publish_and_advance_the_state(aws: Aws) -> None:
    # Before: the message builder raised after the audit; nothing published, nothing remembered.
    world = NoisyWorld(1200, www=BROKEN)
    out = run(aws, world)
    assert out["notification"]["published"] is True and out["notification"]["state_saved"] is True
    assert out["notification"]["bytes"] < MAX_MESSAGE_BYTES
    [note] = aws.published()
    machine = json.loads(note["Message"])
    assert machine["summary"]["notes_total"] == 1200
    assert len(next(iter(aws.archived().values()))["summary"]["notes"]) == 1200  # all of them kept


# The message's size budget, scaled down with the world: at SNS's real budget it takes ~1,500
# origins to overflow, i.e. thousands of conditional writes on moto (~30 s per test); 100 origins
# against this budget reach the same three tiers (detailed, named, only counted). The real budget
# is pinned where it is cheap: tests/unit/test_notify.py (build_message alone).
SMALL_BUDGET = 80_000


def test_a_huge_run_remembers_only_what_its_message_told_and_the_next_run_tells_the_rest(aws: Aws) -> None:
    world = many(100)
    first = run(aws, world, message_max_bytes=SMALL_BUDGET)["notification"]
    told = first["changes_detailed"] + first["changes_named"]
    assert first["published"] and first["changes_withheld"] > 0
    assert first["changes_detailed"] > 0 and first["changes_named"] > 0  # every tier, as at scale
    assert first["bytes"] <= SMALL_BUDGET
    assert told + first["changes_withheld"] == 100 == first["changes"]
    [note] = aws.published()
    machine = json.loads(note["Message"])["notification"]
    named = {c["key"] for c in (*machine["changes"], *machine["changes_named"])}
    # Withheld changes were claimed, then released: their items hold no notified state.
    failing = {k for k, item in aws.state().items() if item.get("verdict", {}).get("S") == "fail"}
    assert failing == named and len(named) == told
    assert not any("claim_run" in item for item in aws.state().values())  # released, not left to expire

    second = run(aws, world, now=NOW + 3600, message_max_bytes=SMALL_BUDGET)["notification"]
    assert second["changes"] == first["changes_withheld"]  # exactly the rest, as new
    [note] = aws.published()
    rest = json.loads(note["Message"])["notification"]
    assert {c["kind"] for c in (*rest["changes"], *rest["changes_named"])} == {"new"}
    assert named.isdisjoint(c["key"] for c in (*rest["changes"], *rest["changes_named"]))


def test_log_events_stay_small_with_a_huge_report_and_a_failed_publish_names_the_archive(
        aws: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a failed publish logged the whole report as one multi-MB line. 100 origins and 100
    # notes make a ~75 KB report whose results and notes are each over the log bound (more
    # origins only add per-item claims and releases on moto, ~1.5 s per hundred).
    world = NoisyWorld(100, **{f"origin{i:05d}": BROKEN for i in range(100)})
    monkeypatch.setattr(handler_module, "_powertools_handler", None)
    monkeypatch.setattr(handler_module, "_default_audit", world)
    for k, v in aws.env.items():
        monkeypatch.setenv(k, v)
    aws.sns.delete_topic(TopicArn=aws.topic_arn)
    with pytest.raises(PublishFailed):
        handler_module.lambda_handler(load_event("schedule.json"), Context(aws_request_id="big-run"))
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(len(line.encode()) for line in lines) < LOG_EVENT_MAX_BYTES
    [failed] = [json.loads(line) for line in lines if '"publish failed' in line]
    key = failed["report"]["key"]
    assert failed["report"]["written"] is True and key.endswith("Z-big-run.json")
    archived = aws.archived()[key]
    assert len(archived["results"]) == 100 and len(archived["summary"]["notes"]) == 100
    # Big enough to matter: the results alone, or the notes alone, would overflow a log event.
    assert min(len(json.dumps(archived[k]).encode()) for k in ("results", "summary")) > LOG_EVENT_MAX_BYTES
    # Nothing was notified: the claims made before publishing were released, no verdict stored.
    assert all("verdict" not in item and "claim_run" not in item for item in aws.state().values())


def test_a_result_over_lambdas_response_limit_leaves_per_origin_detail_to_the_archive() -> None:
    result: dict[str, object] = {"schema": "origin-auditor/1", "results": [{"x": "y" * 1000}] * 6000,
                                 "distributions": [{"id": "E1"}], "summary": {"targets": 6000},
                                 "archive": {"written": True, "uri": "s3://b/k"}}
    out = bounded_result(result)
    assert len(json.dumps(out)) < 5_000_000
    assert "results" not in out and out["archive"] == result["archive"]
    assert out["truncated"]["results"] == 6000  # type: ignore[index]
    small = {"results": [], "summary": {}}
    assert bounded_result(small) is small



# ---- the HTML report next to the JSON one (issue 11)

def test_every_run_archives_the_html_report_next_to_the_json_and_the_message_links_it(aws: Aws) -> None:
    world = World(www=BROKEN, api=FIXED)
    out = run(aws, world, context=Context(aws_request_id="0f1e-req"))
    key = f"reports/{DAY}/{STAMP}Z-0f1e-req.html"
    html = out["archive"]["html"]
    assert html["written"] is True and html["key"] == key and html["error"] is None
    assert html["uri"] == f"s3://reports/{key}"
    assert html["console_url"] == f"https://s3.console.aws.amazon.com/s3/object/reports?region=us-east-1&prefix={key}"
    content_type, page = aws.archived_pages()[key]
    assert content_type == "text/html; charset=utf-8"
    assert page.startswith("<!DOCTYPE html>") and "www" in page and "CHAIN_INCOMPLETE" in page
    [note] = aws.published()
    assert json.loads(note["Message"])["notification"]["report"]["html"]["key"] == key


def test_a_failed_html_write_is_said_and_the_json_report_still_written(aws: Aws) -> None:
    from botocore.exceptions import ClientError

    def refuse_html(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith(".html"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no html"}}, "PutObject")

    aws.s3.meta.events.register("before-parameter-build.s3.PutObject", refuse_html)
    out = run(aws, World(www=BROKEN))
    assert out["archive"]["written"] is True  # the JSON report, the record
    html = out["archive"]["html"]
    assert html["written"] is False and html["error"].startswith("AccessDenied")
    assert aws.archived_pages() == {} and len(aws.archived()) == 1
