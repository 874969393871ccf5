"""The accounts an organization run audits: Organizations listing, filters, the Map's item list.

ACTIVE accounts only (``ListAccounts``, paginated; an OU's accounts through
``ListAccountsForParent`` and ``ListOrganizationalUnitsForParent``, recursively). What is left
out is never dropped silently: an account named in ``accounts`` that is not in the organization
or not ACTIVE, an account not ACTIVE, an excluded account: each is in ``skipped`` with the reason
(the first ``SKIPPED_SHOWN`` of them; ``skipped_total`` counts all), so the run's output says it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .settings import run_prefix

SKIPPED_SHOWN = 100  # the ListAccounts output stays far below Step Functions' 256 KB
_ACCOUNT = re.compile(r"\d{12}")
_OU = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32}")  # an OU, or the root
_MAX_DEPTH = 5  # Organizations nests OUs at most five levels under the root
_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,80}")


class InputError(ValueError):
    """The run's input is wrong (not retried: a person fixes the input)."""


@dataclass(frozen=True)
class Request:
    """A run's input (``ListAccountsFunction``): see the README's "Organization mode"."""

    run_id: str
    accounts: tuple[str, ...] = ()
    include_ous: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()

    @classmethod
    def parse(cls, event: object) -> Request:
        if not isinstance(event, Mapping):
            raise InputError("the input must be a JSON object")
        problems: list[str] = []
        run_id = event.get("run_id")
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            problems.append("run_id must be 1-80 of A-Z a-z 0-9 . _ - (the execution name)")
            run_id = "?"

        def ids(key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
            raw = event.get(key, [])
            if raw is None:
                return ()
            if not isinstance(raw, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in raw):
                problems.append(f"{key} must be a list of {what}")
                return ()
            return tuple(dict.fromkeys(raw))

        out = cls(
            run_id,
            ids("accounts", _ACCOUNT, "12-digit account ids"),
            ids("include_ous", _OU, "OU ids (ou-...) or the root id (r-...)"),
            ids("exclude_accounts", _ACCOUNT, "12-digit account ids"),
            ids("exclude_ous", _OU, "OU ids (ou-...) or the root id (r-...)"),
        )
        unknown = sorted(
            set(event) - {"run_id", "accounts", "include_ous", "exclude_accounts", "exclude_ous"}
        )
        if unknown:
            problems.append(f"unknown keys: {', '.join(unknown)}")
        if out.accounts and out.include_ous:
            problems.append("give accounts or include_ous, not both")
        if problems:
            raise InputError("invalid organization run input: " + "; ".join(problems))
        return out


@dataclass(frozen=True)
class Selection:
    """The accounts to audit (id -> name, sorted by id) and those left out with the reason."""

    accounts: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]


def _state(account: Mapping[str, Any]) -> str:
    # ``State`` replaces the deprecated ``Status`` (2025); either says ACTIVE for a live account.
    return str(account.get("State") or account.get("Status") or "UNKNOWN")


def _pages(client: Any, operation: str, key: str, **kw: Any) -> Iterable[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kw):
        yield from page.get(key, [])


def _under(client: Any, parents: Sequence[str]) -> set[str]:
    """Account ids under ``parents`` (OUs or the root), at any depth."""
    found: set[str] = set()
    level = list(parents)
    for _ in range(_MAX_DEPTH + 1):
        if not level:
            break
        children: list[str] = []
        for parent in level:
            found.update(
                a["Id"] for a in _pages(client, "list_accounts_for_parent", "Accounts", ParentId=parent)
            )
            children += [
                ou["Id"]
                for ou in _pages(
                    client, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
                )
            ]
        level = children
    return found


def select(client: Any, request: Request) -> Selection:
    """The accounts ``request`` asks for, from Organizations (``client``: a boto3 client)."""
    every = {a["Id"]: a for a in _pages(client, "list_accounts", "Accounts")}
    skipped: dict[str, str] = {}
    if request.accounts:
        wanted = list(request.accounts)
        for a in wanted:
            if a not in every:
                skipped[a] = "not an account of this organization"
    elif request.include_ous:
        wanted = sorted(_under(client, request.include_ous))
    else:
        wanted = sorted(every)
    excluded = set(request.exclude_accounts)
    under_excluded = _under(client, request.exclude_ous) if request.exclude_ous else set()
    chosen: list[tuple[str, str]] = []
    for a in wanted:
        if a in skipped:
            continue
        if a in excluded:
            skipped[a] = "excluded (exclude_accounts)"
        elif a in under_excluded:
            skipped[a] = "excluded (under an OU in exclude_ous)"
        elif _state(every.get(a, {})) != "ACTIVE":
            skipped[a] = f"not ACTIVE ({_state(every.get(a, {}))})"
        else:
            chosen.append((a, str(every[a].get("Name") or "")))
    return Selection(tuple(sorted(chosen)), tuple(sorted(skipped.items())))


def list_accounts(
    request: Request, *, organizations: Any, s3: Any, bucket: str, now: float
) -> dict[str, object]:
    """Select the accounts, write the Map's items to ``org-runs/<run_id>/accounts.json`` and
    return the run's header (contract: ``run_id``, ``started_at``, ``bucket``, ``accounts_key``,
    ``count``, ``skipped``; ``skipped_total`` when more were skipped than are listed)."""
    selection = select(organizations, request)
    items = [
        {"account_id": a, "account_name": name, "run_id": request.run_id} for a, name in selection.accounts
    ]
    key = run_prefix(request.run_id) + "accounts.json"
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(items, ensure_ascii=False).encode(),
        ContentType="application/json",
    )
    started = dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "run_id": request.run_id,
        "started_at": started,
        "bucket": bucket,
        "accounts_key": key,
        "count": len(items),
        "skipped": [{"account_id": a, "reason": r} for a, r in selection.skipped[:SKIPPED_SHOWN]],
        "skipped_total": len(selection.skipped),
    }
