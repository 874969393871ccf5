"""The DynamoDB state table: each target's last notified verdict, so a run says only what changed.

One item per target, keyed by ``target_id(target)`` (a stable hash of ``Target.key``):

==============  ====  ==========================================================================
attribute       type  meaning
==============  ====  ==========================================================================
pk              S     ``target_id`` (partition key; the template's KeySchema)
verdict         S     pass / warn / fail as last notified
label           S     the classification label it was notified under (OUTAGE, LATENT, ...)
codes           SS    warn/fail finding codes at the time (absent when none: SS cannot be empty)
display         S     the target as people read it (host:port (SNI name))
last_notified   N     epoch seconds of the last message that mentioned it (absent: never)
updated         N     epoch seconds this item was written
expires_at      N     TTL: targets no longer seen disappear after ``TTL_DAYS``
==============  ====  ==========================================================================

The handler writes only after a successful publish (or when there was nothing to publish), so a
failed publish leaves the table as it was and the next run reports the same changes again.
Every DynamoDB error surfaces as ``StateUnavailable``; the handler then publishes without dedup.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import aws
from .model import Target

logger = logging.getLogger(__name__)

TTL_DAYS = 30
KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
_BATCH_GET = 100  # DynamoDB limits
_BATCH_WRITE = 25
# Rounds of resending what a batch call left unprocessed (see _until_processed).
_RETRIES = 5


class StateUnavailable(Exception):
    """The state table could not be read or written (missing, throttled, no permission...)."""


def target_id(target: Target) -> str:
    """A stable, compact id for ``target.key`` (host, port, SNI, protocols) — same across runs."""
    host, port, sni, protocols = target.key
    raw = "\x1f".join([host, str(port), sni, ",".join(protocols)])
    return "t#" + hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class TargetState:
    """What the last successful notification said about one target.

    key: ``target_id``. verdict: pass/warn/fail. label: classification label (see notify).
    codes: warn/fail finding codes, sorted. display: human-readable target.
    last_notified: epoch seconds of the last message naming this target, None if never.
    """

    key: str
    verdict: str
    label: str
    codes: tuple[str, ...]
    display: str
    last_notified: float | None = None


class StateStore:
    """Reads and writes ``TargetState`` items. ``client`` is a boto3 DynamoDB client (injected)."""

    def __init__(self, table_name: str, client: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if client is None:
            client = aws.client("dynamodb")
        self.table_name = table_name
        self.client = client
        self._sleep = sleep

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

    def save(self, states: Sequence[TargetState], delete: Sequence[str] = (),
             now: float | None = None) -> None:
        """Write ``states`` and delete ``delete`` keys; raises ``StateUnavailable`` on failure."""
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
    return item


def _from_item(item: dict[str, Any]) -> TargetState:
    last = item.get("last_notified")
    return TargetState(
        key=item[KEY_ATTRIBUTE]["S"],
        verdict=item["verdict"]["S"],
        label=item.get("label", {}).get("S", ""),
        codes=tuple(sorted(item.get("codes", {}).get("SS", []))),
        display=item.get("display", {}).get("S", ""),
        last_notified=float(last["N"]) if last else None,
    )
