"""A tiny, offline demo of the resilience core: ``python -m autodocs_core [--backend trio]``.

It runs twelve "package fetches" against a simulated, flaky upstream (no network) under the
default retry policy, a circuit breaker and a retry budget, then prints what happened and the
partial result as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence

import anyio
import attrs

from . import unstructure
from .errors import NotFoundError, RateLimited, UpstreamServerError, UpstreamTimeout
from .resilience import (
    DEFAULT_POLICY,
    BreakerConfig,
    CircuitBreaker,
    FailedItem,
    Hooks,
    PartialResult,
    Resilience,
    ResilienceMetrics,
    RetryBudget,
)

PACKAGES = (
    "httpx",
    "anyio",
    "attrs",
    "cattrs",
    "packaging",
    "trio",
    "no-such-package",
    "flaky-a",
    "flaky-b",
    "slow-c",
    "limited-d",
    "broken-e",
)


class SimulatedIndex:
    """An in-process stand-in for a package index that fails in scripted ways.

    Each package draws from its own seeded generator, so the outcome does not depend on the
    order in which the event loop schedules the calls.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.requests = 0
        self._rngs: dict[str, random.Random] = {}

    async def fetch(self, name: str) -> str:
        """Answer for *name*, or fail the way this package is scripted to."""
        self.requests += 1
        rng = self._rngs.setdefault(name, random.Random(f"{self.seed}:{name}"))
        await anyio.sleep(0.001)
        if name == "no-such-package":
            raise NotFoundError(f"'{name}' does not exist")
        if name == "broken-e":
            raise UpstreamServerError(500)
        if name.startswith("flaky") and rng.random() < 0.6:
            raise UpstreamServerError(503)
        if name == "slow-c" and rng.random() < 0.5:
            raise UpstreamTimeout("no answer")
        if name == "limited-d" and rng.random() < 0.7:
            raise RateLimited("slow down", retry_after=0.05)
        return f"{name}: docs"


async def demo(seed: int) -> int:
    """Fetch every package concurrently; print events, a summary and the partial result."""
    rng = random.Random(seed)
    index = SimulatedIndex(seed)
    metrics = ResilienceMetrics()
    log = Hooks(
        on_retry=lambda e: print(
            f"  retry  {e.name:<16} attempt {e.attempt} failed "
            f"({getattr(e.error, 'error_type', '?')}); "
            f"waiting {e.wait_for * 1000:.0f} ms"
        ),
        on_give_up=lambda e: print(f"  give-up {e.name:<15} after {e.attempts} ({e.reason})"),
        on_state_change=lambda e: print(f"  breaker {e.name}: {e.old.value} -> {e.new.value}"),
    )
    hooks = Hooks.combine(log, metrics.hooks)
    breaker = CircuitBreaker("simulated-index", BreakerConfig(), rng=rng, hooks=hooks)
    budget = RetryBudget(ratio=1.0, min_per_second=10.0)
    # No backoff delays keep the demo quick (the default policy's attempts are kept), but a
    # server's Retry-After (50 ms here) is still honoured.
    policy = attrs.evolve(DEFAULT_POLICY.without_delays(), max_retry_after=1.0)

    succeeded: list[str] = []
    failed: list[FailedItem] = []

    async def one(name: str) -> None:
        guard = Resilience(
            name=name,
            policy=policy,
            breaker=breaker,
            budget=budget,
            deadline=5.0,
            rng=rng,
            hooks=hooks,
        )
        try:
            succeeded.append(await guard.call(index.fetch, name))
        except Exception as exc:
            failed.append(FailedItem.from_exception(name, exc))

    print(f"Fetching {len(PACKAGES)} packages from a simulated flaky index (seed {seed}):")
    async with anyio.create_task_group() as tg:
        for name in PACKAGES:
            tg.start_soon(one, name)
    by_kind: dict[str, int] = {}
    for (_, kind), n in metrics.retries.snapshot().items():
        by_kind[kind] = by_kind.get(kind, 0) + n
    result = PartialResult.collect(sorted(succeeded), sorted(failed, key=lambda f: f.key))
    print(
        f"\n{len(result.succeeded)} succeeded, {len(result.failed)} failed "
        f"({result.success_rate:.0%}); {index.requests} upstream requests for "
        f"{len(PACKAGES)} calls; retries by kind: "
        + ", ".join(f"{kind}={n}" for kind, n in sorted(by_kind.items()))
    )
    print(json.dumps(unstructure(result), indent=2))
    return 0 if result.succeeded else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; ``--backend`` picks asyncio or trio, ``--seed`` the simulated faults."""
    parser = argparse.ArgumentParser(prog="python -m autodocs_core", description=__doc__)
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return anyio.run(demo, args.seed, backend=args.backend)


if __name__ == "__main__":
    sys.exit(main())
