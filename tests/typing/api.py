"""Intended public uses of autodocs_core's resilience API, checked by mypy --strict (never run).

Like typeshed's test cases: each statement is how a user is meant to call the API, and
``assert_type`` pins what they get back. ``nox -s typecheck`` checks this file.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import assert_type

import anyio

from autodocs_core import (
    ApiAnswer,
    Backoff,
    CircuitBreaker,
    Deadline,
    DocsAnswer,
    DocsService,
    Hooks,
    Jitter,
    PartialResult,
    Resilience,
    RetryBudget,
    RetryPolicy,
    Settings,
    fetch_all,
    fetch_stream,
    retry,
    retrying,
)
from autodocs_core.errors import AutodocsError, RateLimited
from autodocs_core.resilience import (
    FetchOutcome,
    FetchProgress,
    RetryEvent,
    RetryOn,
    SupportsRetryAfter,
    parse_retry_after,
    retry_after_of,
)
from autodocs_core.testing import FakeClock


class ApiError(Exception):
    retry_after: float | None = None


async def fetch_user(user_id: int) -> dict[str, int]:
    return {"id": user_id}


async def fetch_page(url: str, *, page: int = 1) -> bytes:
    return url.encode() * page


def transient(exc: BaseException) -> bool | float:
    return isinstance(exc, ApiError)


async def short_forms() -> None:
    api = CircuitBreaker("api")
    budget = RetryBudget(ratio=0.5)
    # The three-line form: positional args are typed against fn's signature.
    user = await retry(fetch_user, 42, on=ApiError, attempts=5, breaker=api)
    assert_type(user, dict[str, int])
    # on= as a tuple, a predicate, with a timedelta deadline; kwargs through partial.
    page = await retry(
        functools.partial(fetch_page, "https://x", page=2),
        on=(ApiError, OSError),
        deadline=dt.timedelta(seconds=5),
        budget=budget,
    )
    assert_type(page, bytes)
    assert_type(await retry(fetch_user, 1, on=transient), dict[str, int])
    assert_type(await retry(fetch_user, 1, on=lambda e: 0.5), dict[str, int])

    guard = retrying(on=ApiError, attempts=3, wait_initial=0.05, wait_max=1.0, jitter=Jitter.EQUAL)
    assert_type(guard, Resilience)
    assert_type(await guard.call(fetch_page, "https://x", page=3), bytes)

    @retrying(on=ApiError)
    async def decorated(n: int) -> str:
        return str(n)

    assert_type(await decorated(3), str)


async def full_form() -> None:
    clock = FakeClock()
    events: list[RetryEvent] = []
    policy = RetryPolicy(
        {ApiError: Backoff(5, 0.1, 2.0, Jitter.FULL), RateLimited: Backoff(6, 2.0, 30.0)},
        default=Backoff(2, 0.5, 2.0),
        max_retry_after=30.0,
    )
    predicate_policy = RetryPolicy(default=Backoff(3, 0.1, 1.0), on=transient)
    assert_type(predicate_policy.verdict(ApiError()), bool | float)
    assert_type(policy.attempts_for(ApiError()), int)
    assert_type(policy.delay_for(ApiError(), 1, random.Random(0)), float)
    guard = Resilience(
        name="users",
        policy=policy,
        breaker=CircuitBreaker("api", clock=clock),
        budget=RetryBudget(clock=clock),
        deadline=10.0,
        attempt_timeout=2.0,
        clock=clock,
        rng=random.Random(1),
        hooks=Hooks(on_retry=events.append),
    )
    assert_type(await guard.call(fetch_user, 7), dict[str, int])
    assert_type(
        await guard.run(lambda: fetch_user(7), deadline=Deadline.after(5.0, clock)), dict[str, int]
    )
    for event in events:
        assert_type(event.error, BaseException)


async def fetching() -> None:
    urls = ["https://a", "https://b"]

    def progress(p: FetchProgress) -> None:
        print(p.done, p.failed, p.total)

    async with fetch_stream(fetch_page, urls, limit=4, on_progress=progress) as outcomes:
        async for outcome in outcomes:
            assert_type(outcome, FetchOutcome[str, bytes])
            assert_type(outcome.value, bytes | None)
            assert_type(outcome.exception, BaseException | None)
    result = await fetch_all(fetch_page, urls, resilience=retrying(on=OSError))
    assert_type(result, PartialResult[bytes])


def protocols(exc: ApiError, on: RetryOn) -> None:
    hinted: SupportsRetryAfter = exc
    assert_type(retry_after_of(exc), float | None)
    assert_type(parse_retry_after("120", now_wall=0.0), float | None)
    assert_type(hinted.retry_after, float | None)
    assert_type(RateLimited("x", retry_after=1.0), RateLimited)
    assert isinstance(RateLimited("x"), AutodocsError)
    RetryPolicy(on=on)


async def product() -> None:
    async with DocsService(Settings.from_env(), store=None) as service:
        assert_type(service, DocsService)
        docs = await service.get_docs("httpx", "==0.28.1", query="timeouts", max_tokens=2000)
        assert_type(docs, DocsAnswer)
        assert_type(docs.stale_age, float | None)
        api = await service.get_api_reference("httpx", symbol="httpx.Client.get")
        assert_type(api, ApiAnswer)
        many = await service.get_many(["anyio", ("attrs", ">=25")])
        assert_type(many, PartialResult[DocsAnswer])
        assert_type(await service.refresh("httpx"), int)
        assert_type(service.metrics_prometheus(), str)


def main() -> None:
    anyio.run(short_forms)
