"""The DynamoDB state table: each target's last notified verdict, so a run says only what changed.

One item per target, keyed by ``target_id(target)`` (a stable hash of ``Target.key``):

==============  ====  ==========================================================================
attribute       type  meaning
==============  ====  ==========================================================================
pk              S     ``target_id`` (partition key; the template's KeySchema); organization mode
                      prefixes the account: ``t#<account>#<hash>``, ``meta#coverage#<account>``
verdict         S     pass / warn / fail as last notified
label           S     the classification label it was notified under (OUTAGE, LATENT, ...)
codes           SS    warn/fail finding codes at the time (absent when none: SS cannot be empty)
display         S     the target as people read it (host:port (SNI name))
last_notified   N     epoch seconds of the last message that mentioned it (absent: never)
audited_at      N     epoch seconds the run that last probed it started (absent: never probed)
version         N     incremented by every write; each write is conditional on the version its
                      run read (absent: written before versions existed, counts as 0)
claim_run       S     a run that is announcing a change of this item right now...
claim_until     N     ...until then (epoch seconds); an expired claim is ignored
updated         N     epoch seconds this item was written
expires_at      N     TTL: targets no longer seen disappear after ``TTL_DAYS``
==============  ====  ==========================================================================

Concurrent runs (a schedule, an alarm and a CloudTrail change at the same moment). Every write is
conditional on the item being as this run read it (``version``), and a run reads before it probes,
so a run never overwrites state newer than its own observations: a lost condition means another
run owns that item. An announcement is made by exactly one run: before publishing, a run *claims*
each item it is about to announce (a conditional write of ``claim_run``/``claim_until`` that
leaves the notified state as it was), publishes only what it claimed, then writes the new state
conditional on its claim. A failed publish releases the claims (or they expire), so the next run
still announces; a crash between publish and save can repeat a message once after
``CLAIM_SECONDS``, never lose it. Every DynamoDB error surfaces as ``StateUnavailable`` (reads) or
an ``error`` outcome (writes).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from . import aws
from .model import Target

logger = logging.getLogger(__name__)

TTL_DAYS = 30
KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
_BATCH_GET = 100  # DynamoDB limits
_BATCH_WRITE = 25
# How long a claim holds (seconds): the Lambda's longest run, so a crashed claimant's items are
# announced by the next run after it.
CLAIM_SECONDS = 900
# Conditional writes are one request per item (BatchWriteItem takes no conditions): this many
# in flight at once.
WRITE_WORKERS = 8
_CONDITION_FAILED = "ConditionalCheckFailedException"
# Rounds of resending what a batch call left unprocessed (see _until_processed).
_RETRIES = 5


class StateUnavailable(Exception):
    """The state table could not be read or written (missing, throttled, no permission...)."""


def target_id(target: Target, account: str | None = None) -> str:
    """A stable, compact id for ``target.key`` (host, port, SNI, protocols, route) — same across
    runs. A target with no ``route`` keeps the id it had before routes existed.

    ``account``: organization mode (``org``), where one table holds many accounts and the same
    origin behind two accounts is two items: ``t#<account>#<hash>``. Without it the single-account
    key ``t#<hash>`` is unchanged (no ``#`` after the prefix: ``is_target_key`` tells them apart).
    """
    host, port, sni, protocols, route = target.key
    raw = "\x1f".join([host, str(port), sni, ",".join(protocols), *([route] if route else [])])
    digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return f"t#{account}#{digest}" if account else "t#" + digest


def is_target_key(key: str, account: str | None = None) -> bool:
    """``key`` is a target item of ``account`` (organization mode), or a single-account target
    item when ``account`` is None (never an organization item: a single-account run in a table
    shared with an organization run removes nothing of the organization's)."""
    if account:
        return key.startswith(f"t#{account}#")
    return key.startswith("t#") and "#" not in key[2:]


@dataclass(frozen=True)
class TargetState:
    """What the last successful notification said about one target.

    key: ``target_id``. verdict: pass/warn/fail ("" for an item that only holds a claim: never
    notified). label: classification label (see notify). codes: warn/fail finding codes,
    sorted. display: human-readable target.
    last_notified: epoch seconds of the last message naming this target, None if never.
    audited_at: epoch seconds the run that last probed it started, None if never.
    Read metadata (not part of equality): version: the item's version as read, None when the
    item is not in the table (a write then requires it still is not); claimed_by /
    claimed_until: a claim on the item as read.
    """

    key: str
    verdict: str
    label: str
    codes: tuple[str, ...]
    display: str
    last_notified: float | None = None
    audited_at: float | None = None
    version: int | None = field(default=None, compare=False)
    claimed_by: str | None = field(default=None, compare=False)
    claimed_until: float | None = field(default=None, compare=False)

    def claimed_by_other(self, run_id: str, now: float) -> bool:
        """True while another run's claim on this item holds (it is announcing it)."""
        return self.claimed_by is not None and self.claimed_by != run_id \
            and (self.claimed_until or 0.0) > now


# What a conditional write did: "ok"; "owned" (the item changed since this run read it: another
# run owns it now); "error" (DynamoDB failed: unknown whether it was written).
WriteResult = Literal["ok", "owned", "error"]
ClaimResult = Literal["claimed", "owned", "error"]


@dataclass(frozen=True)
class WriteOutcome:
    """Per key: what ``StateStore.write`` did. errors: one line per failed key (first few)."""

    results: Mapping[str, WriteResult]
    errors: tuple[str, ...] = ()

    def keys(self, result: WriteResult) -> list[str]:
        return [k for k, r in self.results.items() if r == result]


def probe_order(targets: Sequence[Target], previous: Mapping[str, TargetState]) -> list[Target]:
    """``targets`` in the order to probe them: previously failing first, then warning, then the
    rest; within each, least recently audited first (never audited first of all); ties keep
    discovery order. With a time budget the tail goes unprobed, keeps its older ``audited_at``
    and so comes first next run: no origin is skipped twice in a row while others are probed."""
    rank = {"fail": 0, "warn": 1}

    def key(item: tuple[int, Target]) -> tuple[int, float, int]:
        index, target = item
        s = previous.get(target_id(target))
        if s is None:
            return (2, -math.inf, index)
        audited = s.audited_at if s.audited_at is not None else -math.inf
        return (rank.get(s.verdict, 2), audited, index)

    return [t for _, t in sorted(enumerate(targets), key=key)]


class StateStore:
    """Reads and writes ``TargetState`` items. ``client`` is a boto3 DynamoDB client (injected)."""

    def __init__(self, table_name: str, client: Any = None,
                 sleep: Callable[[float], None] = time.sleep, workers: int = WRITE_WORKERS) -> None:
        if client is None:
            client = aws.client("dynamodb")
        self.table_name = table_name
        self.client = client
        self._sleep = sleep
        self._workers = max(1, workers)

    def load(self, keys: Iterable[str] | None = None) -> dict[str, TargetState]:
        """The stored states for ``keys``, or every stored state when ``keys`` is None."""
        try:
            items = self._scan() if keys is None else self._batch_get(list(dict.fromkeys(keys)))
        except Exception as exc:  # any client/transport error means: no dedup this run
            raise StateUnavailable(f"state table {self.table_name!r} unreadable: {aws.describe_error(exc)}") \
                from exc
        states: dict[str, TargetState] = {}
        for item in items:
            try:
                s = _from_item(item)
            except (KeyError, ValueError, TypeError):
                logger.warning("ignoring malformed state item", extra={"item_keys": sorted(item)})
                continue
            states[s.key] = s
        return states

    def claim(self, states: Sequence[TargetState], *, run_id: str,
              until: float) -> dict[str, ClaimResult]:
        """Claim each item (as read: ``version``) for ``run_id`` until ``until``, leaving its
        notified state as it was. "claimed": this run may announce it (its version is now
        ``version + 1``); "owned": another run wrote it since it was read; "error": unknown."""

        def one(s: TargetState) -> ClaimResult:
            names, values, condition = _expected(s.version)
            values.update({":run": {"S": run_id}, ":until": {"N": _num(until)},
                           ":next": {"N": str((s.version or 0) + 1)},
                           ":ttl": {"N": str(int(until + TTL_DAYS * 86400))}})
            self.client.update_item(
                TableName=self.table_name, Key={KEY_ATTRIBUTE: {"S": s.key}},
                UpdateExpression=f"SET claim_run = :run, claim_until = :until, #v = :next, "
                                 f"{TTL_ATTRIBUTE} = if_not_exists({TTL_ATTRIBUTE}, :ttl)",
                **_conditional({**names, "#v": "version"}, values, condition))
            return "claimed"

        outcome = self._each(states, one)
        return {k: ("claimed" if r == "ok" else r) for k, r in outcome.results.items()}

    def release(self, states: Sequence[TargetState]) -> WriteOutcome:
        """Drop this run's claims (``states`` carry the claimed version): the publish failed,
        so the next run announces these changes. A claim that cannot be released expires."""

        def one(s: TargetState) -> WriteResult:
            names, values, condition = _expected(s.version)
            values[":next"] = {"N": str((s.version or 0) + 1)}
            self.client.update_item(
                TableName=self.table_name, Key={KEY_ATTRIBUTE: {"S": s.key}},
                UpdateExpression="REMOVE claim_run, claim_until SET #v = :next",
                **_conditional({**names, "#v": "version"}, values, condition))
            return "ok"

        return self._each(states, one)

    def write(self, states: Sequence[TargetState], delete: Sequence[TargetState] = (),
              now: float | None = None) -> WriteOutcome:
        """Write ``states`` and delete ``delete``, each only if the item is still at the version
        it carries (as read, or as claimed by this run). Never raises for a single item."""
        now = time.time() if now is None else now

        def put(s: TargetState) -> WriteResult:
            names, values, condition = _expected(s.version)
            item = _to_item(s, now)
            item["version"] = {"N": str((s.version or 0) + 1)}
            self.client.put_item(TableName=self.table_name, Item=item,
                                 **_conditional(names, values, condition))
            return "ok"

        def remove(s: TargetState) -> WriteResult:
            names, values, condition = _expected(s.version)
            self.client.delete_item(TableName=self.table_name, Key={KEY_ATTRIBUTE: {"S": s.key}},
                                    **_conditional(names, values, condition))
            return "ok"

        puts, removes = self._each(states, put), self._each(delete, remove)
        return WriteOutcome({**puts.results, **removes.results}, (*puts.errors, *removes.errors))

    def _each(self, states: Sequence[TargetState],
              call: Callable[[TargetState], WriteResult | ClaimResult]) -> WriteOutcome:
        """``call`` for each state on a small pool; a failed condition is "owned", any other
        error "error" (logged once per key, the first few kept for the outcome)."""

        def guarded(s: TargetState) -> tuple[str, WriteResult, str]:
            try:
                call(s)
                return s.key, "ok", ""
            except Exception as exc:
                if _error_code(exc) == _CONDITION_FAILED:
                    return s.key, "owned", ""
                return s.key, "error", f"{s.key}: {aws.describe_error(exc)}"

        if not states:
            return WriteOutcome({})
        with ThreadPoolExecutor(max_workers=min(self._workers, len(states)),
                                thread_name_prefix="state") as pool:
            done = list(pool.map(guarded, states))
        errors = tuple(e for _, _, e in done if e)
        if errors:
            logger.error("state writes failed", extra={"failed": len(errors), "first": list(errors[:5])})
        return WriteOutcome({k: r for k, r, _ in done}, errors[:20])

    def save(self, states: Sequence[TargetState], delete: Sequence[str] = (),
             now: float | None = None) -> None:
        """Write ``states`` and delete ``delete`` keys unconditionally, in batches: for seeding a
        table (tests, migrations) only; a run writes through ``claim``/``write``. Raises
        ``StateUnavailable`` on failure."""
        now = time.time() if now is None else now
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": _to_item(s, now)}} for s in states]
        requests += [{"DeleteRequest": {"Key": {KEY_ATTRIBUTE: {"S": k}}}} for k in delete]
        try:
            for i in range(0, len(requests), _BATCH_WRITE):
                left = self._until_processed(self.client.batch_write_item,
                                             {self.table_name: requests[i:i + _BATCH_WRITE]},
                                             "UnprocessedItems")
                if left:
                    raise StateUnavailable(f"{len(left[self.table_name])} state writes unprocessed "
                                           "after retries (throttled)")
        except StateUnavailable:
            raise
        except Exception as exc:
            raise StateUnavailable(f"state table {self.table_name!r} unwritable: {aws.describe_error(exc)}") \
                from exc

    def _scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table_name,
                                                               ConsistentRead=True):
            items.extend(page.get("Items", []))
        return items

    def _batch_get(self, keys: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []

        def get(**kw: Any) -> dict[str, Any]:
            out: dict[str, Any] = self.client.batch_get_item(**kw)
            items.extend(out.get("Responses", {}).get(self.table_name, []))
            return out

        for i in range(0, len(keys), _BATCH_GET):
            left = self._until_processed(get, {self.table_name: {
                "Keys": [{KEY_ATTRIBUTE: {"S": k}} for k in keys[i:i + _BATCH_GET]],
                "ConsistentRead": True}}, "UnprocessedKeys")
            if left:
                raise StateUnavailable("state reads unprocessed after retries (throttled)")
        return items

    def _until_processed(self, call: Callable[..., dict[str, Any]], request: dict[str, Any],
                         unprocessed: str) -> dict[str, Any]:
        """Call a DynamoDB batch operation until it leaves nothing unprocessed, or give up.

        BatchGetItem / BatchWriteItem succeed even when DynamoDB throttles part of the batch: the
        part it skipped comes back under ``unprocessed`` (``UnprocessedKeys`` / ``UnprocessedItems``)
        and must be sent again. botocore's retries only cover a failed call, so this resends what
        is left, ``_RETRIES`` calls at most, sleeping 0.05 s doubling up to 1 s between them.
        Returns what is still unprocessed ({} when everything went through).
        """
        pending = request
        for attempt in range(_RETRIES):
            out = call(RequestItems=pending)
            pending = out.get(unprocessed) or {}
            if not pending:
                break
            self._sleep(min(0.05 * 2 ** attempt, 1.0))
        return pending


def _to_item(s: TargetState, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        KEY_ATTRIBUTE: {"S": s.key},
        "verdict": {"S": s.verdict},
        "label": {"S": s.label},
        "display": {"S": s.display or "?"},
        "updated": {"N": str(int(now))},
        TTL_ATTRIBUTE: {"N": str(int(now + TTL_DAYS * 86400))},
    }
    if s.codes:
        item["codes"] = {"SS": sorted(set(s.codes))}
    if s.last_notified is not None:
        item["last_notified"] = {"N": str(int(s.last_notified))}
    if s.audited_at is not None:
        item["audited_at"] = {"N": _num(s.audited_at)}
    return item


def _num(value: float) -> str:
    # Milliseconds: two runs a second apart must still order by when they started.
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _expected(version: int | None) -> tuple[dict[str, str], dict[str, Any], str]:
    """(names, values, ConditionExpression) for "the item is at ``version``" (None: absent)."""
    if version is None:
        return {}, {}, f"attribute_not_exists({KEY_ATTRIBUTE})"
    if version == 0:
        return {"#v": "version"}, {}, f"attribute_exists({KEY_ATTRIBUTE}) AND attribute_not_exists(#v)"
    return {"#v": "version"}, {":seen": {"N": str(version)}}, "#v = :seen"


def _conditional(names: dict[str, str], values: dict[str, Any], condition: str) -> dict[str, Any]:
    """The condition keyword arguments (DynamoDB refuses empty name/value maps)."""
    kw: dict[str, Any] = {"ConditionExpression": condition}
    if names:
        kw["ExpressionAttributeNames"] = names
    if values:
        kw["ExpressionAttributeValues"] = values
    return kw


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _float(attr: Any) -> float | None:
    return float(attr["N"]) if isinstance(attr, dict) and "N" in attr else None


def _from_item(item: dict[str, Any]) -> TargetState:
    claim = item.get("claim_run", {}).get("S")
    return TargetState(
        key=item[KEY_ATTRIBUTE]["S"],
        verdict=item.get("verdict", {}).get("S", ""),  # "": a claim-only item, never notified
        label=item.get("label", {}).get("S", ""),
        codes=tuple(sorted(item.get("codes", {}).get("SS", []))),
        display=item.get("display", {}).get("S", ""),
        last_notified=_float(item.get("last_notified")),
        audited_at=_float(item.get("audited_at")),
        version=int(item["version"]["N"]) if "version" in item else 0,
        claimed_by=claim,
        claimed_until=_float(item.get("claim_until")) if claim else None,
    )
