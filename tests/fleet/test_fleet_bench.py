"""benchmarks/fleet.py's verdicts: "met" only when the figures meet issue 15's targets.

No processes: the results are synthetic; the measuring itself is the benchmark's run.
"""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.fleet import Pool, each_once_per_replica, one_probe_per_period, rows, text


def outage(clusters: list[list[float]], periods: int, per_call: float = 0.01) -> dict[str, Any]:
    return {
        "calls": 800,
        "failed": 800,
        "failures": {"circuit_open": 800},
        "duration_s": 40.0,
        "opened": True,
        "before_open_calls": 40,
        "before_open_requests": 80,
        "after_open_calls": 760,
        "after_open_requests": round(per_call * 760),
        "after_open_requests_per_call": per_call,
        "recovery_periods": periods,
        "probe_clusters_s": clusters,
        "requests_after_first_second": sum(len(c) for c in clusters),
    }


def test_one_probe_per_period() -> None:
    assert one_probe_per_period(outage([[15.2], [30.4]], 2))
    assert one_probe_per_period(outage([[15.2]], 2))  # the run ended before the second probe
    assert not one_probe_per_period(outage([[15.2, 15.3, 15.9, 16.1]], 2))  # one per replica
    assert not one_probe_per_period(outage([[15.2], [18.0]], 2))  # two in one period
    assert not one_probe_per_period(outage([], 2))  # no probe at all


def test_pool_hands_out_each_name_once() -> None:
    pool = Pool(["a", "b", "c"])
    assert pool.take(2) + pool.take(1) == ["a", "b", "c"]
    with pytest.raises(RuntimeError):
        pool.take(1)


def test_each_package_is_asked_by_every_replica() -> None:
    calls = each_once_per_replica(["a", "b"])
    # Call k goes to replica k mod 4: each package's 4 calls land on 4 different replicas.
    assert [(name, k % 4) for k, name in enumerate(calls) if name == "b"] == [
        ("b", 0),
        ("b", 1),
        ("b", 2),
        ("b", 3),
    ]


def summary(**extra: Any) -> dict[str, Any]:
    return {"calls": 400, "failed": 0, "failures": {}, "p50_s": 0.1, "p99_s": 0.2, **extra}


def results(stampede_upstream: int, hit_added_ms: float, outage_ok: bool) -> dict[str, Any]:
    return {
        "shared": {
            "stampede": summary(upstream=stampede_upstream, fleet_counters={"coalesced_waits": 3}),
            "outage": outage([[15.2], [30.4]] if outage_ok else [[15.2, 15.4]], 2),
            "hit": {
                "packages": 30,
                "shared_p50_ms": 1.0 + hit_added_ms,
                "local_p50_ms": 1.0,
                "added_ms": hit_added_ms,
                "b_upstream_requests": 0,
                "redis_get_p50_ms": 0.3,
                "disk_p50_ms": 2.5,
            },
        },
        "baseline": {"stampede": summary(upstream=4)},
        "sizes": {},
    }


def test_the_table_says_met_only_when_the_targets_are_met() -> None:
    good = {row[0][:2]: row[-1] for row in rows(results(1, 1.5, outage_ok=True))}
    assert good == {"1.": "met", "5.": "met", "7.": "met"}
    bad = {row[0][:2]: row[-1] for row in rows(results(3, 6.0, outage_ok=False))}
    assert bad == {"1.": "**missed**", "5.": "**missed**", "7.": "**missed**"}


def test_the_text_shows_the_baseline_and_explains_a_missed_hit() -> None:
    shown = text(results(1, 6.0, outage_ok=True))
    assert "| 4 requests; 0 of 400 calls failed |" in shown
    assert "where the time goes" in shown
    assert "coalesced_waits 3" in shown
    assert "where the time goes" not in text(results(1, 1.5, outage_ok=True))
