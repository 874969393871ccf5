"""Benchmark: planning what to notify against a large state table (issue 9 §5).

10,000 state items (``--items``) against a whole-account report of 4,000 results
(``--results``): 6,000 items are stale (origins gone), a tenth of the results changed verdict.
Times ``notify.plan_changes`` (pure: the same code the Lambda runs between the audit and the
publish) and prints wall and CPU time, changes and deletions planned. Target: under 1 s; before
the plan was made linear (dicts and sets, no scan of the report per item) it took 29 s of CPU at
6,000 stale keys.

    .venv/bin/python bench/bench_state.py [--items 10000] [--results 4000]
"""

from __future__ import annotations

import argparse
import time

from origin_auditor.model import (
    AuditReport,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import plan_changes
from origin_auditor.rules import Code
from origin_auditor.state import TargetState, probe_order, target_id

NOW = 1_750_000_000.0


def build(items: int, results: int) -> tuple[AuditReport, dict[str, TargetState]]:
    out: list[TargetResult] = []
    for i in range(results):
        target = Target(f"o{i}.bench.test", distribution_ids=(f"E{i // 3}",))
        if i % 10 == 0:  # a tenth fail now
            out.append(TargetResult(target, Verdict.FAIL, (
                Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "incomplete chain"),)))
        else:
            out.append(TargetResult(target, Verdict.PASS, ()))
    dists: dict[str, list[int]] = {}
    for i, r in enumerate(out):
        dists.setdefault(r.target.distribution_ids[0], []).append(i)
    report = AuditReport("2025-06-01T12:00:00Z", tuple(out), tuple(
        DistributionReport(d, "LATENT" if any(out[i].verdict is Verdict.FAIL for i in idx) else "HEALTHY",
                           results=tuple(idx)) for d, idx in dists.items()))
    previous: dict[str, TargetState] = {}
    for i in range(items):  # the first `results` are the live targets, the rest are stale
        key = target_id(Target(f"o{i}.bench.test"))
        verdict = "fail" if i % 7 == 0 else "pass"
        previous[key] = TargetState(key, verdict, "LATENT" if verdict == "fail" else "HEALTHY",
                                    ("CHAIN_INCOMPLETE",) if verdict == "fail" else (),
                                    f"o{i}.bench.test:443", NOW - 3600, audited_at=NOW - 3600, version=1)
    return report, previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--results", type=int, default=4_000)
    args = parser.parse_args()
    report, previous = build(args.items, args.results)

    wall, cpu = time.perf_counter(), time.process_time()
    plan = plan_changes(report, previous, now=NOW, whole_account=True, digest=True, run_id="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    order_wall = time.perf_counter()
    probe_order([r.target for r in report.results], previous)
    order_wall = time.perf_counter() - order_wall

    kinds: dict[str, int] = {}
    for c in plan.changes:
        kinds[str(c.kind)] = kinds.get(str(c.kind), 0) + 1
    print(f"state items {len(previous):,}, results {len(report.results):,}")
    print(f"plan_changes: {wall:.3f} s wall, {cpu:.3f} s CPU (target < 1 s)")
    print(f"  changes {len(plan.changes):,} {kinds}, states to write {len(plan.states):,}, "
          f"deletions {len(plan.delete):,}")
    print(f"probe_order: {order_wall:.3f} s wall")


if __name__ == "__main__":
    main()
