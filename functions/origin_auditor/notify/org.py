"""An organization run's accounts in the message (pure): the head lines that count and name the
accounts, and their machine JSON.

One message for the whole organization (``org.aggregate``): the changes are the accounts'
changes (each ``Change.account`` names its account); this says, before them, how many accounts
the run covered, the distributions across them per classification, every account that was not
audited with its reason (its state is kept), and each audited account's counts. Bounded whatever
the organization's size: at most ``ACCOUNTS_SHOWN`` accounts of each list are named, the rest
counted with exact totals; the org report names every one.

Account names are outside text (anyone with Organizations access chose them): the e-mail escapes
them through ``email._wrap`` like every line; the JSON keeps them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model import Classification
from ..present.text import clip

ACCOUNTS_SHOWN = 50  # accounts named in each list of the e-mail; the JSON names up to _JSON_ACCOUNTS
_JSON_ACCOUNTS = 200
_REASON_CHARS = 300


@dataclass(frozen=True)
class AccountOutcome:
    """What an organization run did with one member account.

    status: ``audited`` (every distribution listed and read), ``partial`` (audited, but some of
        it not seen: ``reason``), ``not_audited`` (nothing audited: ``reason``; state kept).
    counts: distributions per classification (audited and partial accounts).
    changes: how many of the message's changes are about this account.
    """

    account_id: str
    name: str = ""
    status: str = "audited"
    reason: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    changes: int = 0

    @property
    def label(self) -> str:
        """``111122223333 (name)`` as people read it (outside text: escape per channel)."""
        return f"{self.account_id} ({clip(self.name, 60)})" if self.name else self.account_id

    def to_json(self) -> dict[str, object]:
        return {"account_id": self.account_id, "name": self.name, "status": self.status,
                "reason": self.reason or None, "counts": dict(self.counts), "changes": self.changes}


@dataclass(frozen=True)
class OrgSummary:
    """The organization run a message is about: its id and every account's outcome."""

    run_id: str
    accounts: tuple[AccountOutcome, ...]

    @property
    def not_audited(self) -> list[AccountOutcome]:
        return [a for a in self.accounts if a.status == "not_audited"]

    @property
    def audited(self) -> list[AccountOutcome]:
        return [a for a in self.accounts if a.status != "not_audited"]

    def counts(self) -> dict[str, int]:
        """Distributions per classification across the audited accounts, worst first."""
        total: dict[str, int] = {}
        for a in self.audited:
            for k, n in a.counts.items():
                total[k] = total.get(k, 0) + n
        return _worst_first(total)

    def to_json(self) -> dict[str, object]:
        # Accounts not audited first (each must be named), then those with changes, then the rest.
        ordered = sorted(self.accounts, key=_order)
        return {"run_id": self.run_id, "accounts_total": len(self.accounts),
                "audited": len(self.audited), "not_audited": len(self.not_audited),
                "partial": sum(1 for a in self.accounts if a.status == "partial"),
                "classifications": self.counts(),
                "accounts": [a.to_json() for a in ordered[:_JSON_ACCOUNTS]],
                "accounts_omitted": max(0, len(ordered) - _JSON_ACCOUNTS)}


def _order(a: AccountOutcome) -> tuple[int, int, str]:
    rank = 0 if a.status == "not_audited" else 1 if a.changes or a.status == "partial" else 2
    return (rank, -a.changes, a.account_id)


def _worst_first(counts: Mapping[str, int]) -> dict[str, int]:
    order = {str(c): i for i, c in enumerate(Classification.worst_first())}
    return {k: counts[k] for k in sorted(counts, key=lambda k: (order.get(k, len(order)), k)) if counts[k]}


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {k}" for k, n in _worst_first(counts).items()) or "no distributions"


def org_head(org: OrgSummary) -> list[str]:
    """The e-mail head's lines about the organization (unwrapped: ``email`` wraps and escapes)."""
    audited, missing = org.audited, org.not_audited
    partial = sum(1 for a in audited if a.status == "partial")
    lines = [f"Organization run {org.run_id}: {len(org.accounts):,} accounts, {len(audited):,} audited"
             + (f" ({partial:,} partly: see below)" if partial else "")
             + f", {len(missing):,} not audited.",
             f"Distributions across the audited accounts: {_counted(org.counts())}."]
    if missing:
        lines.append(f"NOT AUDITED ({len(missing):,} accounts): nothing is known about their origins; "
                     "their last known state is kept, nothing in them is announced resolved or removed, "
                     "and the next run tries them again:")
        lines += [f"  {a.label}: {clip(a.reason or 'no reason recorded', _REASON_CHARS)}"
                  for a in missing[:ACCOUNTS_SHOWN]]
        if len(missing) > ACCOUNTS_SHOWN:
            lines.append(f"  … and {len(missing) - ACCOUNTS_SHOWN:,} more accounts not audited, each with "
                         "its reason in the organization report.")
    shown = sorted(audited, key=_order)
    lines.append("Accounts audited (distributions per classification):")
    lines += [f"  {a.label}: {_counted(a.counts)}"
              + (f"; PARTLY: {clip(a.reason, _REASON_CHARS)}" if a.status == "partial" else "")
              for a in shown[:ACCOUNTS_SHOWN]]
    if len(shown) > ACCOUNTS_SHOWN:
        lines.append(f"  … and {len(shown) - ACCOUNTS_SHOWN:,} more audited accounts with no change to "
                     "tell, counted above and each listed in the organization report.")
    return lines

