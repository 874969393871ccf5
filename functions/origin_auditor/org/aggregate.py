"""The organization run's end: every account's outcome -> one plan -> one message -> one report.

Reads the Map's results (``results``) and the chunk reports (``reports``), plans each account
against the state table (one scan: a whole-organization run needs the items it no longer sees;
keys include the account, ``notify.changes.plan_changes(account=...)``), claims what it will
announce, writes the organization report, publishes ONE message (``notify.build_message`` with
the accounts: ``notify.org``), then writes the state conditionally, as a single-account run does
(``announce``).

Honest at this scale, by the single-account rules reused per account: an account not audited (no
role, access denied, throttled after the Map's retries, timed out, missing from the results) is
planned as a run that saw nothing of it: its state is kept, nothing in it is resolved or removed,
its blind spot is told once when new and its end once it is audited again. An account audited in
part (a chunk not audited, a report unreadable, distributions discovery could not read) is a
partial run of that account. The message names every account not audited with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import aws
from ..announce import archive_outcome, claim_changes, deliver
from ..archive import Archive, archive_report
from ..model import AuditReport, DistributionReport, TargetResult, Unseen, UnseenKind
from ..notify import (
    AccountOutcome,
    OrgSummary,
    Plan,
    build_message,
    plan_changes,
    publish,
)
from ..notify.changes import ACTIVE, COVERAGE, LABEL_RANK, Change, ChangeKind
from ..state import StateStore, StateUnavailable, TargetState
from . import results as results_mod
from .accounts import InputError
from .reports import ReportError, merge
from .settings import OrgSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountRun:
    """One account as the aggregate planned it."""

    outcome: AccountOutcome
    report: AuditReport  # empty (and partial) for an account not audited
    reports: tuple[str, ...]  # the chunk reports' S3 keys


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _items(s3: Any, listed: Mapping[str, Any]) -> dict[str, str]:
    """The run's item list (account id -> name), as ListAccounts wrote it. Raises when it cannot
    be read: without it the aggregate cannot say which accounts were left out."""
    body = s3.get_object(Bucket=listed["bucket"], Key=listed["accounts_key"])["Body"].read()
    return {str(i["account_id"]): str(i.get("account_name") or "") for i in json.loads(body)}


def _account(s3: Any, result: results_mod.AccountResult, generated_at: str) -> AccountRun:
    """Load an account's chunk reports and merge them; what could not be loaded is unseen."""
    acct = result.account_id
    if result.status == "not_audited":
        # A run that saw nothing of the account: the listing "stopped" before the first
        # distribution, for the reason (its error code leads: the blind spot's class).
        report = AuditReport(
            generated_at, (), unseen=(Unseen(UnseenKind.LISTING, "", result.reason, 0),), account=acct
        )
        return AccountRun(AccountOutcome(acct, result.name, "not_audited", result.reason), report, ())
    docs: list[Mapping[str, Any]] = []
    unseen: list[Unseen] = []
    keys: list[str] = []
    reasons: list[str] = []

    def lost(chunk: results_mod.ChunkResult, why: str) -> None:
        reasons.append(f"chunk {chunk.index}: {why}")
        ids = chunk.distribution_ids or (f"chunk-{chunk.index}",)
        unseen.extend(Unseen(UnseenKind.DISTRIBUTION, d, why) for d in ids)

    for chunk in result.chunks:
        if chunk.status not in ("audited", "partial") or not chunk.key:
            lost(chunk, chunk.reason or f"not audited ({chunk.status})")
            continue
        try:
            docs.append(json.loads(s3.get_object(Bucket=chunk.bucket, Key=chunk.key)["Body"].read()))
            keys.append(chunk.key)
        except Exception as exc:
            lost(
                chunk, f"{aws.error_code(exc)}: its report s3://{chunk.bucket}/{chunk.key} could not be read"
            )
    if result.planned is not None and result.planned > len(result.chunks):
        missing = result.planned - len(result.chunks)
        reasons.append(f"{missing} chunk(s) without a result")
        unseen.append(
            Unseen(
                UnseenKind.LISTING,
                "",
                "ChunksMissing: some chunks returned no result",
                sum(len(c.distribution_ids) for c in result.chunks),
            )
        )
    try:
        report = merge(acct, docs, generated_at=generated_at, unseen=unseen)
    except ReportError as exc:
        why = f"ReportError: {exc}"
        report = AuditReport(generated_at, (), unseen=(Unseen(UnseenKind.LISTING, "", why, 0),), account=acct)
        return AccountRun(AccountOutcome(acct, result.name, "not_audited", why), report, tuple(keys))
    if not reasons:  # what discovery could not read in the chunks themselves
        reasons = [f"{u.id or 'listing'}: {u.reason}" for u in report.unseen[:3]]
    counts: dict[str, int] = {}
    for d in report.distributions:
        counts[str(d.classification)] = counts.get(str(d.classification), 0) + 1
    status = "partial" if report.partial else "audited"
    return AccountRun(
        AccountOutcome(acct, result.name, status, "; ".join(reasons)[:500] if report.partial else "", counts),
        report,
        tuple(keys),
    )


def _combined(runs: Sequence[AccountRun], generated_at: str) -> tuple[AuditReport, dict[str, int]]:
    """Every audited account's results and distributions in one report (indexes shifted), and
    each account's offset into its results. Accounts not audited add nothing: their reason is
    in the head, not in the report's PARTIAL RUN line."""
    results: list[TargetResult] = []
    dists: list[DistributionReport] = []
    notes: list[str] = []
    unseen: list[Unseen] = []
    offsets: dict[str, int] = {}
    for run in runs:
        acct = run.outcome.account_id
        offsets[acct] = len(results)
        if run.outcome.status == "not_audited":
            continue
        dists += [
            replace(d, results=tuple(i + len(results) for i in d.results)) for d in run.report.distributions
        ]
        results += run.report.results
        notes += [f"account {acct}: {n}" for n in run.report.notes]
        unseen += [replace(u, id=f"{acct}/{u.id}" if u.id else acct) for u in run.report.unseen]
    return AuditReport(
        generated_at,
        tuple(results),
        tuple(dists),
        tuple(notes),
        tuple(unseen),
        account=f"organization ({len(runs)} accounts)",
    ), offsets


def _account_order(changes: Sequence[Change]) -> tuple[bool, int, str]:
    active = [c for c in changes if c.kind in ACTIVE]
    return (
        not active,
        -max((LABEL_RANK.get(c.label or "", 0) for c in active), default=0),
        changes[0].account if changes else "",
    )


def _relabel(c: Change, run: AccountRun, offset: int) -> Change:
    label = run.outcome.label
    display = c.display
    if c.kind in COVERAGE:
        display = (
            f"account {label} not audited"
            if run.outcome.status == "not_audited" and c.kind is ChangeKind.PARTIAL
            else f"account {label}: {c.display}"
        )
    return replace(
        c,
        account=label,
        display=display,
        result_index=None if c.result_index is None else c.result_index + offset,
    )


def aggregate(
    event: object,
    settings: OrgSettings,
    *,
    s3: Any,
    dynamodb: Any = None,
    sns: Any = None,
    now: float,
    message_max_bytes: int | None = None,
) -> dict[str, object]:
    """Run the aggregate step (contract: issue 12 §3); returns the small summary."""
    if (
        not isinstance(event, Mapping)
        or not isinstance(event.get("run_id"), str)
        or not isinstance(event.get("list"), Mapping)
    ):
        raise InputError("the aggregate's input must be {run_id, started_at, list, map}")
    run_id = str(event["run_id"])
    listed: Mapping[str, Any] = event["list"]
    started_at = str(event.get("started_at") or listed.get("started_at") or _iso(now))
    started = _epoch(started_at)
    generated_at = _iso(now)
    items = _items(s3, listed)
    outcomes, notes = results_mod.read(
        s3, event.get("map") if isinstance(event.get("map"), Mapping) else None, items
    )
    runs = [_account(s3, outcomes[a], generated_at) for a in sorted(outcomes)]

    store: StateStore | None = None
    previous: dict[str, TargetState] | None = None
    dedup_error = "TABLE_NAME is not set"
    if settings.table_name:
        try:
            store = StateStore(settings.table_name, dynamodb or aws.client("dynamodb"))
            previous = store.load()
            dedup_error = ""
        except StateUnavailable as exc:
            dedup_error, store = str(exc), None
            logger.warning(
                "state unreadable: publishing without dedup, writing no state", extra={"error": dedup_error}
            )
    by_account: dict[str, dict[str, TargetState]] = {}
    for key, s in (previous or {}).items():
        parts = key.split("#")
        if len(parts) >= 3:  # t#<account>#<hash>, meta#coverage#<account>
            acct = parts[1] if parts[0] == "t" else parts[-1]
            by_account.setdefault(acct, {})[key] = s

    claim_id = uuid.uuid4().hex  # fresh per attempt: a retry must not take a failed attempt's claims
    combined, offsets = _combined(runs, generated_at)
    groups: list[list[Change]] = []
    states: list[TargetState] = []
    delete: list[str] = []
    owned: list[str] = []
    plans: dict[str, Plan] = {}
    for run in runs:
        acct = run.outcome.account_id
        plan = plan_changes(
            run.report,
            None if previous is None else by_account.get(acct, {}),
            now=now,
            reminder_hours=settings.reminder_hours,
            whole_account=run.outcome.status == "audited",
            run_id=claim_id,
            audited_at=started,
            account=acct,
        )
        plans[acct] = plan
        changes = [_relabel(c, run, offsets[acct]) for c in plan.changes]
        if changes:
            groups.append(changes)
        states += plan.states
        delete += plan.delete
        owned += plan.owned
    groups.sort(key=_account_order)
    changes = [c for g in groups for c in g]
    summary = OrgSummary(
        run_id, tuple(replace(r.outcome, changes=len(plans[r.outcome.account_id].changes)) for r in runs)
    )
    plan = Plan(
        tuple(changes), tuple(states), tuple(delete), dedup_available=previous is not None, owned=tuple(owned)
    )

    plan, claimed, lost = claim_changes(store, plan, previous, run_id=claim_id, now=now)

    document = _org_report(
        run_id=run_id, started_at=started_at, generated_at=generated_at, listed=listed, runs=runs,
        summary=summary, notes=notes, plan=plan, dedup_error=dedup_error,
    )
    archived = archive_report(
        document, bucket=settings.reports_bucket, run=f"{run_id}-org", now=now, client=s3
    )
    if not archived.written:
        logger.error("organization report not archived", extra={"key": archived.key, "error": archived.error})
    budget: dict[str, Any] = {} if message_max_bytes is None else {"max_bytes": message_max_bytes}
    message = build_message(combined, plan, archive=archived, organization=summary, **budget)
    if message is not None and not settings.topic_arn:
        logger.warning(
            "TOPIC_ARN is not set: the organization message was not published",
            extra={"subject": message.subject},
        )
    topic = settings.topic_arn
    message_id, saved = deliver(
        message,
        plan,
        send=(lambda m: publish(m, topic, sns or aws.client("sns"))) if topic else None,
        store=store,
        previous=previous,
        claimed=claimed,
        lost=lost,
        now=now,
        failure_log={"report": archive_outcome(archived)},
    )
    published = message_id is not None
    missing = summary.not_audited
    logger.info(
        "organization run aggregated",
        extra={
            "run_id": run_id,
            "accounts": len(runs),
            "not_audited": len(missing),
            "changes": len(plan.changes),
            "published": published,
            "bytes": message.size_bytes if message is not None else 0,
        },
    )
    return {
        "run_id": run_id,
        "accounts": len(runs),
        "audited": len(runs) - len(missing),
        "not_audited": len(missing),
        "partial": any(r.outcome.status != "audited" for r in runs),
        "report": {"bucket": archived.bucket, "key": archived.key, "written": archived.written},
        "published": published,
        "changes": len(plan.changes),
        "message": {
            "subject": message.subject,
            "bytes": message.size_bytes,
            "changes_detailed": message.included,
            "changes_named": message.named,
            "changes_withheld": message.counted,
        }
        if message is not None
        else None,
        "state_saved": saved,
        **({"dedup_error": dedup_error} if dedup_error else {}),
    }


def _org_report(
    *,
    run_id: str,
    started_at: str,
    generated_at: str,
    listed: Mapping[str, Any],
    runs: Sequence[AccountRun],
    summary: OrgSummary,
    notes: Sequence[str],
    plan: Plan,
    dedup_error: str,
) -> dict[str, object]:
    """The organization report: every account with its outcome, reason and chunk reports, what
    ListAccounts skipped, the run's notes and the changes planned."""
    return {
        "schema": "origin-auditor-org/1",
        "run_id": run_id,
        "started_at": started_at,
        "generated_at": generated_at,
        "summary": {k: v for k, v in summary.to_json().items() if k not in ("accounts", "accounts_omitted")},
        "accounts": [
            {
                **r.outcome.to_json(),
                "reports": list(r.reports),
                "not_audited_origins": r.report.summary()["not_audited"],
                "unseen": [u.to_json() for u in r.report.unseen],
            }
            for r in runs
        ],
        "skipped": list(listed.get("skipped") or []),
        "skipped_total": listed.get("skipped_total"),
        "notes": list(notes),
        "notification": {
            "dedup_available": plan.dedup_available,
            "dedup_error": dedup_error or None,
            "changes": [c.to_json() for c in plan.changes],
        },
    }


__all__ = ["Archive", "aggregate"]
