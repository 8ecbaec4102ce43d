"""Call a flaky JSON API with retries, a circuit breaker and a retry budget, on your own errors.

The API is simulated in-process with ``httpx.MockTransport`` (no network): each user's first
request answers 503, the second 429 with ``Retry-After``, the third 200. ``/users/0`` does not
exist (404: not retried). Run it: ``python examples/flaky_json_api.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import anyio
import httpx

from autodocs_core import CircuitBreaker, RetryBudget, retrying
from autodocs_core.resilience import parse_retry_after


class ApiError(Exception):
    """Our own error for an HTTP answer we cannot use.

    ``retry_after`` (seconds) is what the retry loop honours when it is positive
    (autodocs_core.resilience.SupportsRetryAfter): any exception with that attribute works.
    """

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"the API answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def transient(exc: BaseException) -> bool:
    """What is worth retrying: rate limiting, server errors and broken connections."""
    if isinstance(exc, ApiError):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, httpx.TransportError)


def flaky_api() -> httpx.MockTransport:
    """An API that fails twice per path (503, then 429), then answers."""
    seen: Counter[str] = Counter()

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen[path] += 1
        if path == "/users/0":
            return httpx.Response(404, json={"error": "no such user"})
        if seen[path] == 1:
            return httpx.Response(503)
        if seen[path] == 2:
            return httpx.Response(429, headers={"Retry-After": "0.01"})
        user_id = int(path.rsplit("/", 1)[1])
        return httpx.Response(200, json={"id": user_id, "name": f"user {user_id}"})

    return httpx.MockTransport(handle)


async def get_json(client: httpx.AsyncClient, path: str) -> Any:
    """One attempt: GET *path*, raising our own error for an unusable answer."""
    response = await client.get(path)
    if response.status_code >= 400:
        # Seconds or an HTTP-date; None when absent, garbled, zero or in the past (the retry
        # loop then waits its own backoff: never an immediate retry into a rate limit).
        retry_after = parse_retry_after(response.headers.get("retry-after"), now_wall=time.time())
        raise ApiError(response.status_code, retry_after=retry_after)
    return response.json()


async def main() -> dict[str, Any]:
    """Fetch five users through one guard; return what happened."""
    api = CircuitBreaker("api.example")  # one per upstream, shared by every call to it
    budget = RetryBudget(ratio=0.5)  # retries at most +50% load on a failing API (plus a floor)
    guard = retrying(
        on=transient,
        attempts=4,
        wait_initial=0.01,
        wait_max=0.05,
        deadline=10.0,
        breaker=api,
        budget=budget,
        name="GET api.example",
    )
    async with httpx.AsyncClient(transport=flaky_api(), base_url="https://api.example") as client:
        users = [await guard.call(get_json, client, f"/users/{i}") for i in range(1, 6)]
        try:
            await guard.call(get_json, client, "/users/0")
        except ApiError as exc:  # our own error, not a wrapper, with a note on what happened
            missing = {"status": exc.status, "notes": exc.__notes__}
    result = {"users": users, "missing": missing, "breaker": api.statistics().state.value}
    print(f"fetched {len(users)} users; /users/0 -> {missing}; breaker {result['breaker']}")
    return result


if __name__ == "__main__":
    anyio.run(main)
