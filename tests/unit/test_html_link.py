"""The message links the archived HTML report next to the JSON one (issue 11): one line in the
e-mail text, right after "Full report:", only when the page was written."""

from __future__ import annotations

from origin_auditor.archive import Archive
from origin_auditor.model import (
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import build_message, plan_changes
from origin_auditor.rules import Code

KEY = "reports/2025/06/15/150640Z-run1.json"


def _report() -> AuditReport:
    finding = Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "intermediate missing", "send it")
    result = TargetResult(Target("www.test", distribution_ids=("E1",)), Verdict.FAIL, (finding,))
    return AuditReport("2025-06-15T15:06:40Z", (result,),
                       (DistributionReport("E1", Classification.LATENT, results=(0,)),))


def _email(archive: Archive) -> list[str]:
    report = _report()
    message = build_message(report, plan_changes(report, {}, now=1_750_000_000.0), archive=archive)
    assert message is not None
    return message.structure["email"].splitlines()


def test_the_html_report_link_follows_the_full_report_line() -> None:
    archive = Archive("bkt", KEY, "us-east-1", html_key=KEY.replace(".json", ".html"))
    lines = _email(archive)
    # The e-mail is wrapped at 80 columns: each link stands whole on its own line, after its label.
    full = next(i for i, line in enumerate(lines) if line.startswith("Full report:"))
    assert lines[full + 1].strip() == archive.console_url and lines[full + 2].strip() == archive.uri
    assert lines[full + 3] == "Full report (HTML):"
    assert lines[full + 4].strip() == archive.html_console_url
    assert archive.html_console_url.endswith("prefix=reports/2025/06/15/150640Z-run1.html")


def test_no_html_link_when_the_page_was_not_written() -> None:
    failed = Archive("bkt", KEY, "us-east-1", html_key=KEY.replace(".json", ".html"),
                     html_error="AccessDenied")
    assert not any(line.startswith("Full report (HTML)") for line in _email(failed))
    assert not any(line.startswith("Full report (HTML)") for line in _email(Archive("bkt", KEY, "us-east-1")))
    assert failed.to_json()["html"] == {"written": False, "key": KEY.replace(".json", ".html"),
                                        "uri": "s3://bkt/" + KEY.replace(".json", ".html"),
                                        "console_url": failed.html_console_url, "error": "AccessDenied"}
    assert Archive("bkt", KEY).to_json()["html"] is None
