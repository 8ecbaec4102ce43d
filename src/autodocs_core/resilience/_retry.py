"""The one way to run an async callable under policy + breaker + budget + deadline."""

from __future__ import annotations

import functools
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, ParamSpec, TypeVar

import anyio
import attrs

from ..errors import (
    AutodocsError,
    DeadlineExceeded,
    RateLimited,
    RetryBudgetExhausted,
    UpstreamServerError,
    UpstreamTimeout,
)
from ._backoff import DEFAULT_POLICY, RetryPolicy
from ._breaker import CircuitBreaker
from ._budget import RetryBudget
from ._classify import classify_exception
from ._clock import SYSTEM_CLOCK, Clock
from ._deadline import AdaptiveTimeout, Deadline
from ._hooks import AttemptEvent, GiveUpEvent, Hooks, RetryEvent

__all__ = ["Resilience"]

P = ParamSpec("P")
T = TypeVar("T")

Classifier = Callable[[BaseException], AutodocsError | None]


def _optional_positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 seconds, got {value!r}")


def _reraise(classified: AutodocsError, original: BaseException) -> NoReturn:
    """Raise *classified*, chained to *original* when it was translated from it."""
    if classified is original:
        raise classified
    raise classified from original


def _retry_after(error: AutodocsError) -> float | None:
    if isinstance(error, RateLimited | UpstreamServerError):
        return error.retry_after
    return None


@attrs.frozen
class Resilience:
    """Runs async callables with retries by error type, a breaker, a retry budget and a deadline.

    Everything except the policy is optional, and what is not configured costs nothing: with no
    deadline and no attempt timeout no cancel scope is opened; with no hooks no event is built.

    Use :meth:`call` (``await guard.call(fn, *args)``), :meth:`run` (to pass a shared
    :class:`Deadline`) or the instance as a decorator (``@guard``).

    Failures: an error that is not retryable, or whose attempts are spent, is re-raised as it is
    (the last real error, with a note on the attempts made). A deadline, an exhausted budget or an
    open breaker raise :class:`~autodocs_core.errors.DeadlineExceeded`,
    :class:`~autodocs_core.errors.RetryBudgetExhausted` or
    :class:`~autodocs_core.errors.CircuitOpenError` with the last real error as ``__cause__``.
    Exceptions that :func:`classify_exception` does not know (bugs) propagate unchanged, after one
    attempt. Cancellation is never retried and never counts against the breaker.

    Args:
        name: The operation's name, used in errors and events.
        policy: Backoff settings per error kind.
        breaker: The upstream's circuit breaker; each attempt needs a permit.
        budget: The upstream's retry budget; each retry needs a token.
        deadline: Total seconds allowed per call (attempts, sleeps and all).
        attempt_timeout: Seconds allowed per attempt, or an :class:`AdaptiveTimeout`.
        clock: Time source (inject :class:`~autodocs_core.testing.FakeClock` in tests).
        rng: Randomness for jitter (inject a seeded one in tests).
        hooks: Event callbacks.
        classify: Maps exceptions to autodocs errors (default :func:`classify_exception`).

    .. versionadded:: 0.1.0
    """

    name: str = "call"
    policy: RetryPolicy = DEFAULT_POLICY
    breaker: CircuitBreaker | None = None
    budget: RetryBudget | None = None
    deadline: float | None = attrs.field(default=None, validator=_optional_positive)
    attempt_timeout: float | AdaptiveTimeout | None = None
    clock: Clock = SYSTEM_CLOCK
    rng: random.Random = attrs.field(factory=random.Random, eq=False)
    hooks: Hooks | None = None
    classify: Classifier = classify_exception

    async def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Return ``await fn(*args, **kwargs)``, retried and guarded as configured."""
        return await self._execute(fn, args, kwargs, None)

    async def run(self, fn: Callable[[], Awaitable[T]], *, deadline: Deadline | None = None) -> T:
        """Return ``await fn()``, bounded by *deadline* when given (else by ``self.deadline``)."""
        return await self._execute(fn, (), {}, deadline)

    def __call__(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        """Decorate *fn* so that every call goes through :meth:`call`."""

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self._execute(fn, args, kwargs, None)

        return wrapper

    def _give_up(self, attempts: int, error: BaseException, reason: str) -> None:
        hooks = self.hooks
        if hooks is not None and hooks.on_give_up is not None:
            hooks.on_give_up(GiveUpEvent(self.name, attempts, error, reason))

    def _attempt_limit(self, deadline_at: float | None) -> tuple[float | None, bool]:
        """Return (seconds allowed for the next attempt, whether the deadline is what binds)."""
        timeout = self.attempt_timeout
        per_attempt = timeout.current() if isinstance(timeout, AdaptiveTimeout) else timeout
        if deadline_at is None:
            return per_attempt, False
        remaining = deadline_at - self.clock.now()
        if per_attempt is None or remaining <= per_attempt:
            return remaining, True
        return per_attempt, False

    async def _execute(
        self,
        fn: Callable[..., Awaitable[T]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deadline: Deadline | None,
    ) -> T:
        clock = self.clock
        breaker = self.breaker
        hooks = self.hooks
        budget = self.budget
        if deadline is not None:
            deadline_at: float | None = deadline.at
            deadline_total: float | None = deadline.total
        elif self.deadline is not None:
            deadline_at = clock.now() + self.deadline
            deadline_total = self.deadline
        else:
            deadline_at = deadline_total = None
        bounded = deadline_at is not None or self.attempt_timeout is not None
        if budget is not None:
            budget.record_request()
        attempt = 0
        waited = 0.0
        previous: float | None = None
        last: AutodocsError | None = None
        while True:
            attempt += 1
            if hooks is not None and hooks.on_attempt is not None:
                hooks.on_attempt(AttemptEvent(self.name, attempt))
            if breaker is not None:
                try:
                    permit = breaker.acquire()
                except AutodocsError as refused:
                    self._give_up(attempt, refused, "circuit_open")
                    raise refused from last
            # -- one attempt ------------------------------------------------------------------
            error: BaseException
            if not bounded:
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    error = exc
                else:
                    if breaker is not None:
                        breaker.release(permit)
                    return result
            else:
                limit, deadline_binds = self._attempt_limit(deadline_at)
                assert limit is not None
                if limit <= 0:
                    if breaker is not None:
                        breaker.release_unused(permit)
                    expired = DeadlineExceeded(
                        self.name, deadline=deadline_total, attempts=attempt - 1
                    )
                    self._give_up(attempt - 1, expired, "deadline")
                    raise expired from last
                started = clock.now()
                try:
                    with clock.timeout_scope(limit) as scope:
                        result = await fn(*args, **kwargs)
                except BaseException as exc:
                    error = exc
                else:
                    if not scope.cancelled_caught:
                        if breaker is not None:
                            breaker.release(permit)
                        if isinstance(self.attempt_timeout, AdaptiveTimeout):
                            self.attempt_timeout.observe(clock.now() - started)
                        return result
                    error = UpstreamTimeout(
                        f"'{self.name}' got no answer within {limit:.3f} s",
                        details={"timeout_seconds": limit, "attempt": attempt},
                    )
                    if isinstance(self.attempt_timeout, AdaptiveTimeout):
                        self.attempt_timeout.on_timeout(limit)  # RFC 6298 §5.5: back off
                    if deadline_binds:
                        if breaker is not None:
                            breaker.release(permit, error)
                        expired = DeadlineExceeded(
                            self.name, deadline=deadline_total, attempts=attempt
                        )
                        self._give_up(attempt, expired, "deadline")
                        raise expired from error
            # -- the attempt failed -------------------------------------------------------------
            if isinstance(error, anyio.get_cancelled_exc_class()):
                if breaker is not None:
                    breaker.release(permit, error)
                raise error
            classified = error if isinstance(error, AutodocsError) else self.classify(error)
            if breaker is not None:
                breaker.release(permit, classified if classified is not None else error)
            if classified is None:
                self._give_up(attempt, error, "not_retryable")
                raise error
            last = classified
            allowed = self.policy.attempts_for(classified)
            if attempt >= allowed:
                classified.add_note(f"{self.name}: gave up after {attempt} attempt(s)")
                self._give_up(attempt, classified, "attempts" if allowed > 1 else "not_retryable")
                _reraise(classified, error)
            backoff = self.policy.backoff_for(classified)
            delay = backoff.delay(attempt, self.rng, previous)
            asked = _retry_after(classified)
            if asked is not None:
                # The server said when to come back: that replaces our guess (capped).
                delay = min(asked, self.policy.max_retry_after)
            if deadline_at is not None and clock.now() + delay >= deadline_at:
                if isinstance(classified, RateLimited):
                    # The server told us when to come back, and that is past our deadline:
                    # fail now with the rate-limit error, which carries retry_after.
                    classified.add_note(f"{self.name}: Retry-After exceeds the time left")
                    self._give_up(attempt, classified, "deadline")
                    _reraise(classified, error)
                expired = DeadlineExceeded(self.name, deadline=deadline_total, attempts=attempt)
                self._give_up(attempt, expired, "deadline")
                raise expired from classified
            if budget is not None and not budget.try_acquire_retry():
                spent = RetryBudgetExhausted(
                    breaker.name if breaker is not None else self.name,
                    attempts=attempt,
                    last_error=classified.error_type,
                )
                self._give_up(attempt, spent, "budget")
                raise spent from classified
            if hooks is not None and hooks.on_retry is not None:
                hooks.on_retry(RetryEvent(self.name, attempt, delay, waited, classified))
            await clock.sleep(delay)
            waited += delay
            previous = delay
