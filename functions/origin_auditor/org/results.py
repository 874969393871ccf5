"""What the Distributed Map did with each account: its ResultWriter manifest and result files.

Step Functions writes, under the ResultWriter's prefix, ``<map run id>/manifest.json``::

    {"DestinationBucket": "...", "MapRunArn": "...",
     "ResultFiles": {"SUCCEEDED": [{"Key": ".../SUCCEEDED_0.json", "Size": n}], "FAILED": [...],
                     "PENDING": [...]}}

and each result file is a JSON array of child executions: ``ExecutionArn``, ``Input`` and
``Output`` (JSON *strings*), ``InputDetails``/``OutputDetails``, ``Name``, ``RedriveCount``,
``RedriveStatus``, ``StartDate``, ``StopDate``, ``StateMachineArn``, ``Status``; a FAILED one
carries ``Error`` and ``Cause`` instead of ``Output``. (moto 5.2 writes the manifest with empty
lists; the tests write the files as AWS documents them.)

The item processor's ``Output`` is read leniently: the per-account ``plan`` output (``status``
``planned``/``not_audited``, ``chunks``) and the chunk ``audit`` outputs (``chunk``, ``status``,
``report``) are found wherever the state machine put them (the inline Map's array, or an object
holding them). Every account of the run's item list ends in exactly one ``AccountResult``: an
account with no entry, a FAILED/TIMED_OUT/ABORTED/PENDING one, or an output not understood is
``not_audited`` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import aws
from ..present.text import clip

_REASON_CHARS = 400
_DEPTH = 6


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's ``audit`` output: status, reason, where its report is."""

    index: int
    status: str
    reason: str = ""
    bucket: str | None = None
    key: str | None = None
    distribution_ids: tuple[str, ...] = ()


@dataclass
class AccountResult:
    """One account's outcome in the Map. status: ``audited`` (every chunk audited),
    ``partial`` (some of it not seen: ``reason``), ``not_audited`` (``reason``)."""

    account_id: str
    name: str = ""
    status: str = "not_audited"
    reason: str = ""
    chunks: list[ChunkResult] = field(default_factory=list)
    planned: int | None = None  # chunks the plan made, when its output is in the result


def _json(raw: object) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _found(value: Any, depth: int = 0) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """("plan" | "chunk", output) for every plan/audit output inside ``value``."""
    if depth > _DEPTH:
        return
    if isinstance(value, Mapping):
        if "chunk" in value and "status" in value and "report" in value:
            yield "chunk", value
        elif "chunks" in value and value.get("status") in ("planned", "not_audited"):
            yield "plan", value
        else:
            for v in value.values():
                yield from _found(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _found(v, depth + 1)


def _failure(entry: Mapping[str, Any]) -> str:
    """``Error: message`` of a failed child execution (the Lambda error's message when the
    Cause is Lambda's JSON error object)."""
    status = str(entry.get("Status") or "FAILED")
    error = str(entry.get("Error") or ("States.Timeout" if status == "TIMED_OUT" else status))
    cause = _json(entry.get("Cause"))
    if isinstance(cause, Mapping):
        cause = cause.get("errorMessage") or cause.get("Cause") or json.dumps(cause)
    text = " ".join(str(cause or "").split())
    return clip(f"{error}: {text}" if text else error, _REASON_CHARS) + f" (map item {status})"


def _from_output(account: AccountResult, output: Any) -> None:
    plans = [v for kind, v in _found(output) if kind == "plan"]
    chunks = {
        int(v["chunk"]): v
        for kind, v in _found(output)
        if kind == "chunk" and isinstance(v.get("chunk"), int)
    }
    for p in plans:
        if p.get("status") == "not_audited":
            account.status, account.reason = (
                "not_audited",
                clip(str(p.get("reason") or "not audited"), _REASON_CHARS),
            )
            return
        account.planned = len(p.get("chunks") or [])
    if not plans and not chunks and output != []:
        account.status, account.reason = "not_audited", "the map's output for this account was not understood"
        return
    for i, c in sorted(chunks.items()):
        raw = c.get("report")
        report: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        account.chunks.append(
            ChunkResult(
                i,
                str(c.get("status")),
                clip(str(c.get("reason") or ""), _REASON_CHARS),
                report.get("bucket"),
                report.get("key"),
                tuple(str(d) for d in c.get("distribution_ids") or ()),
            )
        )
    account.status = "audited"


def read(
    s3: Any, map_output: Mapping[str, Any] | None, items: Mapping[str, str]
) -> tuple[dict[str, AccountResult], list[str]]:
    """Every account of ``items`` (id -> name, the run's item list) with its Map outcome, and
    the run's notes (result files unreadable, entries not attributable)."""
    accounts = {a: AccountResult(a, name) for a, name in items.items()}
    notes: list[str] = []
    details = (map_output or {}).get("ResultWriterDetails") if isinstance(map_output, Mapping) else None
    missing = "NoResult: the map recorded no result for this account (it did not run, or its result was lost)"
    if not isinstance(details, Mapping) or not details.get("Bucket") or not details.get("Key"):
        why = (map_output or {}).get("Error") if isinstance(map_output, Mapping) else None
        missing = f"NoResult: the map wrote no results ({why or 'no ResultWriterDetails in its output'})"
        notes.append(missing)
    else:
        bucket, key = str(details["Bucket"]), str(details["Key"])
        try:
            manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            files = manifest.get("ResultFiles") or {}
        except Exception as exc:  # unreadable: every account is said not audited, with this reason
            missing = (
                f"NoResult: the map's results could not be read (s3://{bucket}/{key}: "
                f"{aws.describe_error(exc)})"
            )
            notes.append(missing)
            files = {}
        seen: dict[str, str] = {}  # account -> status of the entry kept (a SUCCEEDED one wins)
        for status in ("SUCCEEDED", "FAILED", "PENDING"):
            for f in files.get(status) or []:
                fkey = str(f.get("Key"))
                try:
                    entries = json.loads(
                        s3.get_object(Bucket=str(manifest.get("DestinationBucket") or bucket), Key=fkey)[
                            "Body"
                        ].read()
                    )
                except Exception as exc:
                    notes.append(
                        f"map result file {fkey} ({status}) not readable: {aws.describe_error(exc)}; "
                        "its accounts are reported not audited"
                    )
                    continue
                for entry in entries if isinstance(entries, list) else []:
                    _entry(entry, status, accounts, seen, notes)
    for a in accounts.values():
        if a.status == "not_audited" and not a.reason:
            a.reason = missing
    return accounts, notes


def _entry(
    entry: Mapping[str, Any],
    file_status: str,
    accounts: dict[str, AccountResult],
    seen: dict[str, str],
    notes: list[str],
) -> None:
    item = _json(entry.get("Input"))
    account_id = item.get("account_id") if isinstance(item, Mapping) else None
    if not isinstance(account_id, str) or account_id not in accounts:
        notes.append(f"a map result ({clip(str(entry.get('Name') or '?'), 80)}) names no account of this run")
        return
    status = str(entry.get("Status") or file_status)
    if seen.get(account_id) == "SUCCEEDED":
        return
    seen[account_id] = status
    account = AccountResult(account_id, accounts[account_id].name)
    if status == "SUCCEEDED":
        _from_output(account, _json(entry.get("Output")))
    elif file_status == "PENDING" or status in ("PENDING", "RUNNING"):
        account.reason = f"the map did not finish this account ({status})"
    else:
        account.reason = _failure(entry)
    accounts[account_id] = account
