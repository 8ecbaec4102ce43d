"""Per-call overhead of retry + breaker around a no-op coroutine, against peers.

Every variant wraps the same no-op coroutine and succeeds on the first attempt (the path every
cache hit and healthy call takes). Costs are best-of-rounds means; ratios are against a bare
``await noop()`` measured in the same process, and against ``backoff``'s retry decorator (the
cheapest peer), so machine noise cancels out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from autodocs_core.resilience import (
    AdaptiveTimeout,
    CircuitBreaker,
    Hooks,
    Resilience,
    RetryBudget,
)

from ._harness import machine, per_call_ns, save, versions, write_docs_section

Variant = tuple[str, str, Callable[[], Awaitable[object]]]


async def noop() -> int:
    return 1


def our_variants() -> list[Variant]:
    retry = Resilience()
    breaker = CircuitBreaker("bench")
    retry_breaker = Resilience(breaker=breaker)
    full = Resilience(breaker=CircuitBreaker("bench2"), budget=RetryBudget())
    hooked = Resilience(breaker=CircuitBreaker("bench3"), hooks=Hooks())
    deadline = Resilience(breaker=CircuitBreaker("bench4"), deadline=10.0)
    adaptive = Resilience(breaker=CircuitBreaker("bench5"), attempt_timeout=AdaptiveTimeout())
    decorated = Resilience(breaker=CircuitBreaker("bench6"))(noop)

    async def breaker_only() -> int:
        return await breaker.call(noop)

    return [
        ("autodocs", "retry (Resilience(), nothing else configured)", lambda: retry.call(noop)),
        ("autodocs", "breaker alone (CircuitBreaker.call)", breaker_only),
        ("autodocs", "retry + breaker", lambda: retry_breaker.call(noop)),
        ("autodocs", "retry + breaker, as a decorator", decorated),
        ("autodocs", "retry + breaker + retry budget", lambda: full.call(noop)),
        ("autodocs", "retry + breaker, empty Hooks() configured", lambda: hooked.call(noop)),
        (
            "autodocs",
            "retry + breaker + total deadline (opens a cancel scope)",
            lambda: deadline.call(noop),
        ),
        ("autodocs", "retry + breaker + adaptive attempt timeout", lambda: adaptive.call(noop)),
    ]


def peer_variants() -> list[Variant]:
    found: list[Variant] = []
    try:
        import backoff

        on_exc = backoff.on_exception(backoff.expo, Exception, max_tries=3)(noop)
        found.append(("backoff", "retry decorator (on_exception, expo, 3 tries)", on_exc))
    except ImportError:
        pass
    try:
        import tenacity

        ten = tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(noop)
        found.append(("tenacity", "@retry (AsyncRetrying, 3 attempts)", ten))
    except ImportError:
        pass
    try:
        import stamina

        sta = stamina.retry(on=Exception, attempts=3)(noop)
        found.append(("stamina", "@retry(on=Exception, attempts=3)", sta))
    except ImportError:
        pass
    try:
        import aiobreaker

        aio = aiobreaker.CircuitBreaker()

        async def aio_call() -> object:
            return await aio.call_async(noop)

        found.append(("aiobreaker", "CircuitBreaker.call_async (closed)", aio_call))
    except ImportError:
        pass
    try:
        import circuitbreaker

        cb = circuitbreaker.circuit(failure_threshold=5, recovery_timeout=30)(noop)
        found.append(("circuitbreaker", "@circuit (closed)", cb))
    except ImportError:
        pass
    return found


async def measure(calls: int, rounds: int, *, peers: bool) -> list[dict[str, Any]]:
    """Return the best-of-rounds cost per variant.

    Rounds are interleaved so that a noisy moment on the machine hits every variant alike
    instead of a few consecutive ones.
    """
    variants: list[Variant] = [("(baseline)", "bare `await noop()`", noop)]
    variants += our_variants() + (peer_variants() if peers else [])
    best = [float("inf")] * len(variants)
    for _ in range(rounds):
        for i, (_, _, fn) in enumerate(variants):
            best[i] = min(best[i], await per_call_ns(fn, calls=calls, rounds=1))
    return [
        {"library": lib, "variant": name, "ns": ns}
        for (lib, name, _), ns in zip(variants, best, strict=True)
    ]


def table(rows: list[dict[str, Any]], backend: str) -> str:
    bare = rows[0]["ns"]
    ref = next((r["ns"] for r in rows if r["library"] == "backoff"), None)
    lines = [
        f"| library | variant ({backend}) | ns/call | × bare | × backoff retry |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        vs_backoff = f"{r['ns'] / ref:.2f}" if ref else "n/a"
        lines.append(
            f"| {r['library']} | {r['variant']} | {r['ns']:.0f} | {r['ns'] / bare:.1f} "
            f"| {vs_backoff} |"
        )
    return "\n".join(lines)


def run(*, quick: bool, write_docs: bool) -> dict[str, Any]:
    calls, rounds = (2_000, 3) if quick else (20_000, 7)
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions(
            "anyio", "trio", "backoff", "tenacity", "stamina", "aiobreaker", "circuitbreaker"
        ),
        "calls_per_round": calls,
        "rounds": rounds,
    }
    for backend in ("asyncio", "trio"):
        peers = backend == "asyncio"  # the peers are asyncio libraries (or sniff the backend)
        results[backend] = anyio.run(
            functools.partial(measure, calls, rounds, peers=peers), backend=backend
        )
    md = [table(results["asyncio"], "asyncio"), "", table(results["trio"], "trio")]
    text = "\n".join(md)
    print(text)
    rows = results["asyncio"]
    ours = next(r["ns"] for r in rows if r["variant"] == "retry + breaker")
    ref = next((r["ns"] for r in rows if r["library"] == "backoff"), None)
    if ref:
        verdict = "met" if ours <= ref else "MISSED"
        summary = (
            f"\nTarget (retry + breaker <= backoff's retry alone): {verdict} "
            f"({ours:.0f} ns vs {ref:.0f} ns, ratio {ours / ref:.2f})."
        )
        print(summary)
        text += "\n" + summary
    if not quick:
        save("overhead", results)
        if write_docs:
            write_docs_section(
                "overhead",
                f"Measured on {results['machine']['platform']}, Python "
                f"{results['machine']['python']}, {calls} calls × best of {rounds} rounds.\n"
                f"Versions: {json.dumps(results['versions'])}.\n\n{text}",
            )
    return results
