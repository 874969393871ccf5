"""What changed since the last successful publish: the plan of one run's message (pure).

The kinds of change and the rules that produce them are described in the package docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..model import AuditReport, Classification, Severity, TargetResult, Verdict
from ..present.partial import blind_spot, bounded, partial_summary, told
from ..state import TargetState, is_target_key, target_id

DIGEST_KEY = "meta#digest"
# The blind spot last told (``codes``: its entries, ``present.partial.blind_spot``; verdict
# "partial" while it lasts, "pass" once a complete whole-account run told its end).
COVERAGE_KEY = "meta#coverage"


def coverage_key(account: str | None = None) -> str:
    """``COVERAGE_KEY``, or an organization account's own (``meta#coverage#<account>``)."""
    return f"{COVERAGE_KEY}#{account}" if account else COVERAGE_KEY


class ChangeKind(StrEnum):
    NEW = "new"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    DIGEST = "digest"
    IMPROVED = "improved"
    RESOLVED = "resolved"
    REMOVED = "removed"
    PARTIAL = "partial"  # a partial run's blind spot, told when new (key ``COVERAGE_KEY``)
    COVERAGE_RESTORED = "coverage_restored"  # a complete whole-account run after a told blind spot


# The kinds that call for attention (the rest report good news).
ACTIVE = frozenset({ChangeKind.NEW, ChangeKind.ESCALATED, ChangeKind.REMINDER, ChangeKind.DIGEST})
# The kinds about what the run saw, not about an origin; told first.
COVERAGE = frozenset({ChangeKind.PARTIAL, ChangeKind.COVERAGE_RESTORED})
PARTIAL_LABEL = "PARTIAL"
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
    blind_spot: ``COVERAGE`` kinds only: the entries of the blind spot (``present.partial``),
        this run's for ``partial``, the one told before for ``coverage_restored``.
    account: organization mode: the member account the change is about, as people read it
        (``111122223333 (name)``); "" in a single-account run (the report's account).
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
    blind_spot: tuple[str, ...] = ()
    account: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": str(self.kind), "target": self.display, "key": self.key,
            "verdict": self.verdict, "classification": self.label,
            "previous_verdict": self.previous_verdict, "previous_classification": self.previous_label,
            "codes": list(self.codes), "result": self.result_index,
            "distribution_ids": list(self.distribution_ids)}
        if self.kind in COVERAGE:
            out["blind_spot"] = list(self.blind_spot)
        if self.account:
            out["account"] = self.account
        return out


@dataclass(frozen=True)
class Plan:
    """What this run should say and, once said, remember.

    changes: what to notify, most urgent first; empty = publish nothing.
    states: the items to write after a successful publish (or at once when nothing is published);
        each carries the version it was read at (``None``: not in the table), the write's condition.
    delete: state keys to delete (targets a complete whole-account run shows are gone).
    dedup_available: False when the previous state could not be read (every problem is "new").
    owned: keys left alone because another run owns them (a live claim, or state newer than
        this run's observations).
    """

    changes: tuple[Change, ...]
    states: tuple[TargetState, ...]
    delete: tuple[str, ...] = ()
    dedup_available: bool = True
    owned: tuple[str, ...] = ()


def target_label(report: AuditReport, index: int) -> str:
    """The label a target is notified under (see ``LABEL_RANK``)."""
    return _labels(report, [index])[index]


def _labels(report: AuditReport, indexes: Iterable[int]) -> dict[int, str]:
    """``target_label`` for each index, reading the distributions once (linear in the report)."""
    worst: dict[int, Classification] = {}
    for d in report.distributions:
        if d.classification.alerts:
            for i in d.results:
                if i not in worst or d.classification.rank > worst[i].rank:
                    worst[i] = d.classification
    out: dict[int, str] = {}
    for i in indexes:
        verdict = report.results[i].verdict
        if verdict is Verdict.PASS:
            out[i] = str(Classification.HEALTHY)
        elif verdict is Verdict.WARN:
            out[i] = str(Classification.AT_RISK)
        else:
            out[i] = str(worst[i]) if i in worst else FAIL_LABEL
    return out


def _problem_codes(result: TargetResult) -> tuple[str, ...]:
    return tuple(sorted({str(f.code) for f in result.findings if f.severity is not Severity.INFO}))


def _not_probed(result: TargetResult) -> bool:
    # Out of time, a probe error or an unreachable VPC origin, for the whole origin or some of
    # its addresses, and nothing seen failing: a pass here is not a resolution, so keep the state.
    return result.unaudited is not None


def plan_changes(report: AuditReport, previous: Mapping[str, TargetState] | None, *, now: float,
                 reminder_hours: float = 24.0, whole_account: bool = False,
                 digest: bool = False, run_id: str = "", audited_at: float | None = None,
                 account: str | None = None) -> Plan:
    """Compare ``report`` with ``previous`` (None: state unavailable) and decide what to say.

    Linear in results + previous items (dicts and sets only). ``audited_at``: when this run's
    audit started (default ``now``); an item audited later than that, or claimed by another run
    (``run_id`` is this run's), is newer than this run's view and left alone (``Plan.owned``).
    Removals only on a whole-account run whose report is not partial: a partial run did not see
    what it did not list, and an unseen origin is neither resolved nor removed. A partial run's
    blind spot is a change when new (``_coverage``), and its end when a complete whole-account
    run follows one told.

    ``account``: organization mode: plan one member account, keyed by it (``target_id(t,
    account)``, ``coverage_key(account)``); ``previous`` then holds that account's items, and
    only they can be removed. None (single account): the keys and meaning are as ever, and an
    organization item in the same table is never removed.
    """
    prev = dict(previous or {})
    started = now if audited_at is None else audited_at
    changes: list[Change] = []
    states: list[TargetState] = []
    owned: list[str] = []
    seen: dict[str, int] = {}
    unprobed: set[str] = set()
    for i, result in enumerate(report.results):
        key = target_id(result.target, account)
        if key in unprobed:
            continue
        if key in seen:
            # The audit merges equal targets, but an organization account's chunks can each see
            # an origin their distributions share: the worst observation stands, so nothing is
            # announced resolved that another probe of this run saw failing.
            if _RANK.get(str(result.verdict), 0) > _RANK.get(str(report.results[seen[key]].verdict), 0):
                seen[key] = i
            continue
        if _not_probed(result):
            unprobed.add(key)
            continue
        seen[key] = i
    keyed = sorted((i, key) for key, i in seen.items())
    labels = _labels(report, (i for i, _ in keyed))
    for i, key in keyed:
        result = report.results[i]
        read = prev.get(key)
        if read is not None and _owned_elsewhere(read, run_id, now=now, started=started):
            owned.append(key)
            continue
        before = read if read is not None and read.verdict else None  # "": claim-only, never notified
        verdict, label, codes = str(result.verdict), labels[i], _problem_codes(result)
        kind = _classify(before, verdict, label, codes, now=now, reminder_hours=reminder_hours)
        notified = before.last_notified if before else None
        if kind is not None:
            changes.append(Change(kind, key, result.target.display, verdict, label,
                                  before.verdict if before else None, before.label if before else None,
                                  codes, i, result.target.distribution_ids))
            notified = now
        states.append(TargetState(key, verdict, label, codes, result.target.display, notified,
                                  audited_at=started, version=read.version if read else None))

    delete: list[str] = []
    if whole_account and previous is not None and not report.partial:
        for key, before in prev.items():
            if not is_target_key(key, account) or key in seen or key in unprobed:
                continue
            if _owned_elsewhere(before, run_id, now=now, started=started):
                owned.append(key)
                continue
            delete.append(key)
            if before.verdict not in ("pass", ""):
                changes.append(Change(ChangeKind.REMOVED, key, before.display, None, None,
                                      before.verdict, before.label, (), None))

    if digest and not changes and previous is not None:
        last = prev.get(DIGEST_KEY)
        due = last is None or last.last_notified is None or now - last.last_notified >= 86400 - 300
        if due and not (last is not None and _owned_elsewhere(last, run_id, now=now, started=started)):
            changes = [Change(ChangeKind.DIGEST, s.key, s.display, s.verdict, s.label, s.verdict,
                              s.label, s.codes, seen.get(s.key))
                       for s in states if s.verdict != "pass"]
            if not changes:  # still say "all clear" once a day: silence is not proof it ran
                changes = [Change(ChangeKind.DIGEST, DIGEST_KEY, "all origins", "pass",
                                  str(Classification.HEALTHY), None,
                                  None, (), None)]
            states.append(TargetState(DIGEST_KEY, "", "", (), "daily digest", now,
                                      version=last.version if last else None))

    coverage = _coverage(report, prev if previous is not None else None, now=now, started=started,
                         whole_account=whole_account, run_id=run_id, key=coverage_key(account))
    if isinstance(coverage, str):
        owned.append(coverage)
    elif coverage is not None:
        changes.append(coverage[0])
        states.append(coverage[1])

    changes.sort(key=lambda c: (c.kind not in COVERAGE, c.kind not in ACTIVE,
                                -LABEL_RANK.get(c.label or "", 0), _KIND_ORDER[c.kind], c.display))
    return Plan(tuple(changes), tuple(states), tuple(delete), dedup_available=previous is not None,
                owned=tuple(owned))


def _coverage(report: AuditReport, prev: Mapping[str, TargetState] | None, *, now: float,
              started: float, whole_account: bool,
              run_id: str, key: str = COVERAGE_KEY) -> tuple[Change, TargetState] | str | None:
    """The blind-spot change and the ``COVERAGE_KEY`` state to write with it; ``COVERAGE_KEY``
    when another run owns the item; None when there is nothing to tell.

    A partial run tells its blind spot when some of it was not told since coverage was last
    complete (so an account whose listing keeps failing hears it once, not every hour; a
    listing failing for another reason, or a distribution not read before, is told), and
    remembers the union. Only a complete whole-account run can say coverage is restored: a run
    for some distributions saw all it was asked about, not the account. Without the state
    (``prev`` None) a partial run tells its blind spot and nothing is written.
    """
    last = prev.get(key) if prev is not None else None
    before = frozenset(last.codes) if last is not None and last.verdict == "partial" else frozenset()
    if report.partial:
        now_seen = blind_spot(report.unseen)
        if all(told(e, before) for e in now_seen):
            return None
        # Remember all that was told since coverage was complete (not only this run's part): a
        # blind spot that flickers between parts already told is not told again each time.
        kind, verdict, label = ChangeKind.PARTIAL, "partial", PARTIAL_LABEL
        entries, display, spot = bounded(before | now_seen), partial_summary(report), now_seen
    elif whole_account and before:
        kind, verdict, label, entries = ChangeKind.COVERAGE_RESTORED, "pass", "COMPLETE", frozenset()
        display, spot = "the whole account", before
    else:
        return None
    if last is not None and _owned_elsewhere(last, run_id, now=now, started=started):
        return key
    change = Change(kind, key, display, verdict, label,
                    last.verdict or None if last else None, last.label or None if last else None,
                    (), None, blind_spot=tuple(sorted(spot)))
    return change, TargetState(key, verdict, label, tuple(sorted(entries)), "audit coverage",
                               now, audited_at=started, version=last.version if last else None)


def _owned_elsewhere(read: TargetState, run_id: str, *, now: float, started: float) -> bool:
    """Another run is announcing this item, or audited it after this run started."""
    return read.claimed_by_other(run_id, now) or \
        (read.audited_at is not None and read.audited_at > started)


_RANK = {"pass": 0, "warn": 1, "fail": 2}


def _classify(before: TargetState | None, verdict: str, label: str, codes: tuple[str, ...], *,
              now: float, reminder_hours: float) -> ChangeKind | None:
    rank = _RANK
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
