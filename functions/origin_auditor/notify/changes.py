"""What changed since the last successful publish: the plan of one run's message (pure).

The kinds of change and the rules that produce them are described in the package docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..assess import not_audited
from ..model import AuditReport, Classification, Severity, TargetResult, Verdict
from ..state import TargetState, target_id

DIGEST_KEY = "meta#digest"


class ChangeKind(StrEnum):
    NEW = "new"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    DIGEST = "digest"
    IMPROVED = "improved"
    RESOLVED = "resolved"
    REMOVED = "removed"


# The kinds that call for attention (the rest report good news).
ACTIVE = frozenset({ChangeKind.NEW, ChangeKind.ESCALATED, ChangeKind.REMINDER, ChangeKind.DIGEST})
_KIND_ORDER = {k: i for i, k in enumerate(ChangeKind)}

# The label a target is notified under: a failing target takes the worst alerting classification
# (OUTAGE, LATENT) of its distributions, else FAIL (no traffic context: IDLE, UNKNOWN, `check`);
# a warning target is AT_RISK, a passing one HEALTHY. Worst first; the rank is read from
# ``Classification`` so a new alerting classification needs no edit here.
FAIL_LABEL = "FAIL"
LABEL_ORDER: tuple[str, ...] = (
    *(c for c in Classification.worst_first() if c.alerts), FAIL_LABEL,
    Classification.AT_RISK, Classification.HEALTHY)
LABEL_RANK = {label: len(LABEL_ORDER) - i for i, label in enumerate(LABEL_ORDER)}  # others: 0


@dataclass(frozen=True)
class Change:
    """One target's change since the last notification.

    kind: see ``ChangeKind``. key: ``state.target_id``. display: the target for people.
    verdict / label: now (``None`` for ``removed``). previous_verdict / previous_label: as last
    notified (``None``: never seen, or dedup unavailable). codes: warn/fail codes now.
    result_index: index into ``AuditReport.results`` (``None`` for ``removed``).
    distribution_ids: where the target is used.
    """

    kind: ChangeKind
    key: str
    display: str
    verdict: str | None
    label: str | None
    previous_verdict: str | None
    previous_label: str | None
    codes: tuple[str, ...]
    result_index: int | None
    distribution_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"kind": str(self.kind), "target": self.display, "key": self.key,
                "verdict": self.verdict, "classification": self.label,
                "previous_verdict": self.previous_verdict, "previous_classification": self.previous_label,
                "codes": list(self.codes), "result": self.result_index,
                "distribution_ids": list(self.distribution_ids)}


@dataclass(frozen=True)
class Plan:
    """What this run should say and, once said, remember.

    changes: what to notify, most urgent first; empty = publish nothing.
    states: the items to write after a successful publish (or at once when nothing is published).
    delete: state keys to delete (targets gone from a whole-account run).
    dedup_available: False when the previous state could not be read (every problem is "new").
    """

    changes: tuple[Change, ...]
    states: tuple[TargetState, ...]
    delete: tuple[str, ...] = ()
    dedup_available: bool = True

    @property
    def should_publish(self) -> bool:
        return bool(self.changes)


def target_label(report: AuditReport, index: int) -> str:
    """The label a target is notified under (see ``LABEL_RANK``)."""
    result = report.results[index]
    if result.verdict is Verdict.PASS:
        return str(Classification.HEALTHY)
    if result.verdict is Verdict.WARN:
        return str(Classification.AT_RISK)
    classes = [d.classification for d in report.distributions if index in d.results]
    worst = max((c for c in classes if c.alerts), key=lambda c: c.rank, default=None)
    return str(worst) if worst is not None else FAIL_LABEL


def _problem_codes(result: TargetResult) -> tuple[str, ...]:
    return tuple(sorted({str(f.code) for f in result.findings if f.severity is not Severity.INFO}))


def _not_probed(result: TargetResult) -> bool:
    # Out of time, a probe error or an unreachable VPC origin, for the whole origin or some of
    # its addresses, and nothing seen failing: a pass here is not a resolution, so keep the state.
    return result.verdict is Verdict.PASS and not_audited(result) is not None


def plan_changes(report: AuditReport, previous: Mapping[str, TargetState] | None, *, now: float,
                 reminder_hours: float = 24.0, whole_account: bool = False,
                 digest: bool = False) -> Plan:
    """Compare ``report`` with ``previous`` (None: state unavailable) and decide what to say."""
    prev = dict(previous or {})
    changes: list[Change] = []
    states: list[TargetState] = []
    seen: set[str] = set()
    for i, result in enumerate(report.results):
        key = target_id(result.target)
        if key in seen:  # the audit merges equal targets; be safe if it did not
            continue
        seen.add(key)
        if _not_probed(result):
            continue
        before = prev.get(key)
        verdict, label, codes = str(result.verdict), target_label(report, i), _problem_codes(result)
        kind = _classify(before, verdict, label, codes, now=now, reminder_hours=reminder_hours)
        notified = before.last_notified if before else None
        if kind is not None:
            changes.append(Change(kind, key, result.target.display, verdict, label,
                                  before.verdict if before else None, before.label if before else None,
                                  codes, i, result.target.distribution_ids))
            notified = now
        states.append(TargetState(key, verdict, label, codes, result.target.display, notified))

    delete: list[str] = []
    if whole_account and previous is not None:
        for key, before in prev.items():
            if key.startswith("t#") and key not in seen and not _unprobed_key(report, key):
                delete.append(key)
                if before.verdict != "pass":
                    changes.append(Change(ChangeKind.REMOVED, key, before.display, None, None,
                                          before.verdict, before.label, (), None))

    if digest and not changes and previous is not None:
        last = prev.get(DIGEST_KEY)
        if last is None or last.last_notified is None or now - last.last_notified >= 86400 - 300:
            changes = [Change(ChangeKind.DIGEST, s.key, s.display, s.verdict, s.label, s.verdict,
                              s.label, s.codes, _index_of(report, s.key))
                       for s in states if s.verdict != "pass"]
            if not changes:  # still say "all clear" once a day: silence is not proof it ran
                changes = [Change(ChangeKind.DIGEST, DIGEST_KEY, "all origins", "pass",
                                  str(Classification.HEALTHY), None,
                                  None, (), None)]
            states.append(TargetState(DIGEST_KEY, "", "", (), "daily digest", now))

    changes.sort(key=lambda c: (c.kind not in ACTIVE, -LABEL_RANK.get(c.label or "", 0),
                                _KIND_ORDER[c.kind], c.display))
    return Plan(tuple(changes), tuple(states), tuple(delete), dedup_available=previous is not None)


def _index_of(report: AuditReport, key: str) -> int | None:
    return next((i for i, r in enumerate(report.results) if target_id(r.target) == key), None)


def _unprobed_key(report: AuditReport, key: str) -> bool:
    return any(target_id(r.target) == key and _not_probed(r) for r in report.results)


def _classify(before: TargetState | None, verdict: str, label: str, codes: tuple[str, ...], *,
              now: float, reminder_hours: float) -> ChangeKind | None:
    rank = {"pass": 0, "warn": 1, "fail": 2}
    if before is None or before.verdict == "pass":
        return None if verdict == "pass" else ChangeKind.NEW
    if verdict == "pass":
        return ChangeKind.RESOLVED
    if rank[verdict] > rank.get(before.verdict, 0) or \
            LABEL_RANK.get(label, 0) > LABEL_RANK.get(before.label, 0) or \
            set(codes) - set(before.codes):
        return ChangeKind.ESCALATED
    if rank[verdict] < rank.get(before.verdict, 0):
        return ChangeKind.IMPROVED
    if verdict == "fail" and (before.last_notified is None
                              or now - before.last_notified >= reminder_hours * 3600):
        return ChangeKind.REMINDER
    return None


# ---------------------------------------------------------------- the message
