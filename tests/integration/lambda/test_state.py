"""StateStore against moto DynamoDB: Scan pages followed by botocore's paginator, batches of 100
reads / 25 writes, what DynamoDB leaves unprocessed resent by the one retry helper, every failure
a StateUnavailable worded by ``aws.describe_error``."""

from __future__ import annotations

from typing import Any

import pytest

from origin_auditor import aws as aws_module
from origin_auditor.state import StateStore, StateUnavailable, TargetState

from .conftest import Aws


def states(n: int) -> list[TargetState]:
    return [TargetState(f"t#{i:04d}", "fail", "OUTAGE", ("CHAIN_INCOMPLETE",), f"o{i}.test:443", 1000.0 + i)
            for i in range(n)]


def count_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every request ``client`` makes of ``operation`` (the parameters, as sent)."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register(f"before-parameter-build.dynamodb.{operation}",
                                lambda params, **_: seen.append(dict(params)))
    return seen


def test_scan_pages_are_followed_to_the_last_item(aws: Aws) -> None:
    store = StateStore(aws.table_name, aws.dynamodb)
    store.save(states(7), now=2000.0)

    # DynamoDB pages a Scan at 1 MB; small pages (Limit=3) make moto page the same way.
    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("Limit", 3)

    aws.dynamodb.meta.events.register("before-parameter-build.dynamodb.Scan", small_pages)
    scans = count_calls(aws.dynamodb, "Scan")
    loaded = store.load()
    assert sorted(loaded) == [s.key for s in states(7)]
    assert len(scans) == 3  # 3 + 3 + 1, each page after the first starting where the last ended
    assert loaded["t#0006"] == states(7)[6]


def test_reads_and_writes_are_batched_at_dynamodb_limits(aws: Aws) -> None:
    store = StateStore(aws.table_name, aws.dynamodb)
    writes = count_calls(aws.dynamodb, "BatchWriteItem")
    store.save(states(60), delete=["t#gone"], now=2000.0)
    assert [len(w["RequestItems"][aws.table_name]) for w in writes] == [25, 25, 11]
    reads = count_calls(aws.dynamodb, "BatchGetItem")
    keys = [s.key for s in states(60)] * 2 + [f"t#missing{i}" for i in range(50)]  # repeats asked once
    loaded = store.load(keys)
    assert sorted(loaded) == [s.key for s in states(60)]
    assert [len(r["RequestItems"][aws.table_name]["Keys"]) for r in reads] == [100, 10]


class Throttling:
    """The moto client, except that each batch call leaves all but the first ``take`` entries
    unprocessed (as a throttled table does) for the first ``rounds`` calls."""

    def __init__(self, real: Any, *, take: int, rounds: int) -> None:
        self._real, self._take, self._rounds = real, take, rounds
        self.sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        (table, requests), = RequestItems.items()
        self.sent.append(len(requests))
        if len(self.sent) > self._rounds:
            return dict(self._real.batch_write_item(RequestItems=RequestItems))
        if self._take:
            self._real.batch_write_item(RequestItems={table: requests[:self._take]})
        rest = requests[self._take:]
        return {"UnprocessedItems": {table: rest} if rest else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, request), = RequestItems.items()
        keys = request["Keys"]
        self.sent.append(len(keys))
        if len(self.sent) > self._rounds:
            return dict(self._real.batch_get_item(RequestItems=RequestItems))
        out: dict[str, Any] = {"Responses": {table: []}}
        if self._take:
            taken = {table: {**request, "Keys": keys[:self._take]}}
            out = dict(self._real.batch_get_item(RequestItems=taken))
        if keys[self._take:]:
            out["UnprocessedKeys"] = {table: {**request, "Keys": keys[self._take:]}}
        return out


def test_unprocessed_writes_and_reads_are_resent_with_backoff(aws: Aws) -> None:
    slept: list[float] = []
    client = Throttling(aws.dynamodb, take=4, rounds=2)
    store = StateStore(aws.table_name, client, sleep=slept.append)
    store.save(states(10), now=2000.0)
    assert client.sent == [10, 6, 2]  # what was left, sent again until nothing is
    assert slept == [0.05, 0.1]
    client.sent.clear()
    slept.clear()
    client._rounds = 2
    assert sorted(store.load([s.key for s in states(10)])) == [s.key for s in states(10)]
    assert client.sent == [10, 6, 2] and slept == [0.05, 0.1]


def test_writes_still_unprocessed_after_retries_are_state_unavailable(aws: Aws) -> None:
    slept: list[float] = []
    store = StateStore(aws.table_name, Throttling(aws.dynamodb, take=0, rounds=99), sleep=slept.append)
    with pytest.raises(StateUnavailable, match=r"^3 state writes unprocessed after retries \(throttled\)$"):
        store.save(states(3), now=2000.0)
    assert slept == [0.05, 0.1, 0.2, 0.4, 0.8]  # five calls, doubling, capped at 1 s
    # (load() words every failure as "unreadable: <what>", this one included.)
    with pytest.raises(StateUnavailable, match=r"^state table 'state' unreadable: StateUnavailable: "
                                               r"state reads unprocessed after retries \(throttled\)$"):
        store.load(["t#0000"])


def test_dynamodb_errors_are_described_once_the_aws_way(aws: Aws) -> None:
    store = StateStore("no-such-table", aws.dynamodb)
    with pytest.raises(StateUnavailable) as unreadable:
        store.load()
    cause = unreadable.value.__cause__
    assert cause is not None
    prefix = "state table 'no-such-table' unreadable: "
    assert str(unreadable.value) == prefix + aws_module.describe_error(cause)
    assert str(unreadable.value).startswith(prefix + "ResourceNotFoundException: ")
    with pytest.raises(StateUnavailable, match=r"unwritable: ResourceNotFoundException: "):
        store.save(states(1), now=2000.0)


def test_a_store_without_a_client_makes_one_with_the_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    monkeypatch.setattr(aws_module, "client", lambda service, *a, **kw: made.append(service) or object())
    StateStore("t")
    assert made == ["dynamodb"]
