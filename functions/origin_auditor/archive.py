"""The report archive: every run's full JSON report, written to S3 (the one I/O here).

Messages are trimmed to fit SNS (256 KB) and log events to fit CloudWatch Logs (256 KB); the
archive is where the whole report always goes, so "all in the full report" stays true at any size,
and an asynchronous run's report outlives the run. The message and the log name the object.

One object per run, keyed by the run's date (UTC) and id, so people browse by day and a retried
invocation (same request id) overwrites its own report instead of adding a second one::

    reports/YYYY/MM/DD/HHMMSSZ-<run-id>.json

and, when the caller renders one, the same report as a self-contained HTML page next to it
(``report_html``; ``text/html``), which the message links too::

    reports/YYYY/MM/DD/HHMMSSZ-<run-id>.html

Encryption, public access and expiry are the bucket's (template.yaml ``ReportsBucket``: SSE-S3,
public access blocked, a lifecycle rule on ``PREFIX``); the function may only ``s3:PutObject``
under ``PREFIX``. A failed write never raises: it comes back as an ``Archive`` with ``error``,
which the message, the returned report and the log all state.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import aws

PREFIX = "reports/"
BUCKET_ENV = "REPORTS_BUCKET_NAME"
_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Archive:
    """Where a run's full report went, or why it did not.

    bucket / key: the S3 object (also set when the write failed: the place it was meant for).
    region: the bucket's region for the console link (the client's region), None if unknown.
    error: None when written; else the AWS error, one line (``aws.describe_error``).
    html_key / html_error: the HTML page next to the JSON report (None: no page was rendered),
        and why it was not written (None when it was).
    """

    bucket: str
    key: str
    region: str | None = None
    error: str | None = None
    html_key: str | None = None
    html_error: str | None = None

    @property
    def written(self) -> bool:
        return self.error is None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def console_url(self) -> str:
        """The object's page in the S3 console (the form the console itself links to; the
        partition's default console host, so GovCloud and China users follow ``uri`` instead)."""
        return self._console(self.key)

    @property
    def html_written(self) -> bool:
        return self.html_key is not None and self.html_error is None

    @property
    def html_console_url(self) -> str:
        """The HTML page's object page in the S3 console ("" without a page)."""
        return self._console(self.html_key) if self.html_key else ""

    def _console(self, key: str) -> str:
        region = f"region={quote(self.region, safe='')}&" if self.region else ""
        return (f"https://s3.console.aws.amazon.com/s3/object/{quote(self.bucket, safe='')}"
                f"?{region}prefix={quote(key, safe='/')}")

    def to_json(self) -> dict[str, object]:
        html: dict[str, object] | None = None
        if self.html_key is not None:
            html = {"written": self.html_written, "key": self.html_key,
                    "uri": f"s3://{self.bucket}/{self.html_key}", "console_url": self.html_console_url,
                    "error": self.html_error}
        return {"written": self.written, "bucket": self.bucket, "key": self.key, "uri": self.uri,
                "console_url": self.console_url, "error": self.error, "html": html}


def run_id(raw: str | None) -> str:
    """A run id safe in an S3 key: the Lambda request id (or the CLI's), else a random one."""
    clean = _RUN_ID_UNSAFE.sub("_", raw or "")[:100]
    return clean or uuid.uuid4().hex


def report_key(run: str, when: float) -> str:
    """``reports/YYYY/MM/DD/HHMMSSZ-<run>.json`` for a run at ``when`` (epoch seconds, UTC)."""
    t = dt.datetime.fromtimestamp(when, dt.UTC)
    return f"{PREFIX}{t:%Y/%m/%d/%H%M%S}Z-{run_id(run)}.json"


def archive_report(document: Mapping[str, Any], *, bucket: str, run: str, now: float,
                   client: Any = None, html: str | None = None) -> Archive:
    """Write ``document`` (the JSON report) as one object, and ``html`` (the same report as a
    page) next to it when given; never raises for an AWS failure.

    ``client`` is a boto3 S3 client (injected), default ``aws.client("s3")``. A failure is
    returned for the caller to say (the handler logs it, the CLI prints it; both put it in the
    message). The page is written whether or not the JSON write failed: each says its own error.
    """
    key = report_key(run, now)
    html_key = key.removesuffix(".json") + ".html" if html is not None else None
    region: str | None = None
    error: str | None = None
    html_error: str | None = None
    try:
        if client is None:
            client = aws.client("s3")
        region = getattr(getattr(client, "meta", None), "region_name", None)
    except Exception as exc:  # credentials, endpoint: said for both objects
        error = aws.describe_error(exc)
        return Archive(bucket, key, region, error, html_key, error if html_key else None)
    try:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as exc:  # botocore errors, credentials, endpoint: all said, none raised
        error = aws.describe_error(exc)
    if html is not None and html_key is not None:
        try:
            client.put_object(Bucket=bucket, Key=html_key, Body=html.encode(),
                              ContentType="text/html; charset=utf-8")
        except Exception as exc:
            html_error = aws.describe_error(exc)
    return Archive(bucket, key, region, error, html_key, html_error)
