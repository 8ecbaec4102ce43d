"""The one way to run an async callable under policy + breaker + budget + deadline."""

from __future__ import annotations

import datetime as _dt
import functools
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, ParamSpec, TypeVar, TypeVarTuple

import anyio
import attrs

from ..errors import (
    AutodocsError,
    CircuitOpenError,
    DeadlineExceeded,
    RateLimited,
    RetryBudgetExhausted,
    UpstreamTimeout,
)
from ._backoff import DEFAULT_POLICY, Backoff, Jitter, RetryOn, RetryPolicy
from ._breaker import CircuitBreaker
from ._budget import RetryBudget
from ._clock import SYSTEM_CLOCK, Clock
from ._deadline import AdaptiveTimeout, Deadline
from ._hooks import AttemptEvent, GiveUpEvent, Hooks, RetryEvent

__all__ = ["Resilience", "retry", "retrying"]

P = ParamSpec("P")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

Classifier = Callable[[BaseException], AutodocsError | None]

_SHARED_RNG = random.Random()
"""Jitter source of guards built without ``rng=``: seeding a ``Random`` costs ~50 µs here, about
twenty times a whole successful guarded call, and jitter needs no per-guard stream."""


def _optional_positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 seconds, got {value!r}")


def _reraise(error: BaseException, original: BaseException) -> NoReturn:
    """Raise *error*, chained to *original* when it was translated from it."""
    if error is original:
        raise error
    raise error from original


@attrs.frozen
class Resilience:
    """Runs async callables with retries by error type, a breaker, a retry budget and a deadline.

    Everything except the policy is optional, and what is not configured costs nothing: with no
    deadline and no attempt timeout no cancel scope is opened; with no hooks no event is built.

    Use :meth:`call` (``await guard.call(fn, *args)``), :meth:`run` (to pass a shared
    :class:`Deadline`) or the instance as a decorator (``@guard``). :func:`retry` is the short
    form for one call.

    What is retried is the policy's rule (:meth:`RetryPolicy.verdict`): the caller's own
    exception classes as well as autodocs' own. When the call fails for good, what propagates:

    - The exception the callable raised, the very same object, with one PEP 678 note saying
      how many attempts were made and why it stopped (``attempts exhausted``,
      ``not retryable``, ``deadline``, ``retry budget exhausted``, ``circuit ... is open``).
    - Except for autodocs' own errors (callers of the product branch on ``error_type``): a
      deadline, an exhausted budget or an open breaker then raise
      :class:`~autodocs_core.errors.DeadlineExceeded`,
      :class:`~autodocs_core.errors.RetryBudgetExhausted` or
      :class:`~autodocs_core.errors.CircuitOpenError`, with the last real error as
      ``__cause__``. The same three are raised whatever the error type when there is no
      exception of the caller's to raise: the breaker refused the first attempt, or the
      deadline cut an attempt short.

    The breaker counts an autodocs error by its ``breaker_outcome``; any other exception
    counts as a failure when the policy retries it, and as nothing otherwise (a bug or a
    validation error says nothing about the upstream). A breaker built with its own
    ``outcome=`` function decides for itself. Cancellation is never retried and never counts.
    Retry-After: any exception with a positive ``retry_after`` attribute
    (:class:`SupportsRetryAfter`) sets the wait.

    Args:
        name: The operation's name, used in errors, notes and events.
        policy: What to retry and how (backoff per error class).
        breaker: The upstream's circuit breaker; each attempt needs a permit.
        budget: The upstream's retry budget; each retry needs a token.
        deadline: Total seconds allowed per call (attempts, sleeps and all).
        attempt_timeout: Seconds allowed per attempt, or an :class:`AdaptiveTimeout`.
        clock: Time source (inject :class:`~autodocs_core.testing.FakeClock` in tests).
        rng: Randomness for jitter (inject a seeded one in tests; default: one process-wide
            ``Random``).
        hooks: Event callbacks.
        classify: Optional translation of foreign exceptions into autodocs errors, applied
            before the policy decides (default: none; the HTTP layer translates its own
            errors at the edge, see ``autodocs_core.http.classify_exception``). A translated
            error is what propagates, chained to the original.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Third-party exceptions are retried when the policy names them and propagate as
       themselves; ``classify`` defaults to ``None``.
    """

    name: str = "call"
    policy: RetryPolicy = DEFAULT_POLICY
    breaker: CircuitBreaker | None = None
    budget: RetryBudget | None = None
    deadline: float | None = attrs.field(default=None, validator=_optional_positive)
    attempt_timeout: float | AdaptiveTimeout | None = None
    clock: Clock = SYSTEM_CLOCK
    rng: random.Random = attrs.field(default=_SHARED_RNG, eq=False)
    hooks: Hooks | None = None
    classify: Classifier | None = None

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

    def _stop(
        self,
        attempts: int,
        error: BaseException,
        original: BaseException,
        reason: str,
        why: str,
    ) -> NoReturn:
        """Give up with *error* itself: one note (attempts made, why), then raise it."""
        error.add_note(f"{self.name}: gave up after {attempts} attempt(s): {why}")
        self._give_up(attempts, error, reason)
        _reraise(error, original)

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
        policy = self.policy
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
        last: BaseException | None = None
        while True:
            attempt += 1
            if hooks is not None and hooks.on_attempt is not None:
                hooks.on_attempt(AttemptEvent(self.name, attempt))
            if breaker is not None:
                try:
                    permit = breaker.acquire()
                except CircuitOpenError as refused:
                    if last is not None and not isinstance(last, AutodocsError):
                        self._stop(
                            attempt - 1,
                            last,
                            last,
                            "circuit_open",
                            f"circuit '{breaker.name}' is open "
                            f"(retry after {refused.retry_after:.1f} s)",
                        )
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
                    if last is not None and not isinstance(last, AutodocsError):
                        self._stop(
                            attempt - 1,
                            last,
                            last,
                            "deadline",
                            f"the deadline{_of(deadline_total)} passed",
                        )
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
            current: BaseException = error
            if self.classify is not None and not isinstance(error, AutodocsError):
                translated = self.classify(error)
                if translated is not None:
                    current = translated
            verdict = policy.verdict(current)
            if breaker is not None:
                breaker.release(permit, current, retried=verdict is not False)
            last = current
            if verdict is False:
                self._stop(attempt, current, error, "not_retryable", "not retryable")
            allowed = policy.backoff_for(current).attempts
            if attempt >= allowed:
                if allowed > 1:
                    self._stop(attempt, current, error, "attempts", "attempts exhausted")
                self._stop(attempt, current, error, "not_retryable", "not retryable")
            delay = policy.delay_for(current, attempt, self.rng, previous, verdict=verdict)
            if deadline_at is not None and clock.now() + delay >= deadline_at:
                if isinstance(current, RateLimited):
                    # The server told us when to come back, and that is past our deadline:
                    # fail now with the rate-limit error, which carries retry_after.
                    self._stop(
                        attempt, current, error, "deadline", "Retry-After exceeds the time left"
                    )
                if not isinstance(current, AutodocsError):
                    self._stop(
                        attempt,
                        current,
                        error,
                        "deadline",
                        f"the next attempt would start after the deadline{_of(deadline_total)}",
                    )
                expired = DeadlineExceeded(self.name, deadline=deadline_total, attempts=attempt)
                self._give_up(attempt, expired, "deadline")
                raise expired from current
            if budget is not None and not budget.try_acquire_retry():
                if not isinstance(current, AutodocsError):
                    self._stop(attempt, current, error, "budget", "retry budget exhausted")
                spent = RetryBudgetExhausted(
                    breaker.name if breaker is not None else self.name,
                    attempts=attempt,
                    last_error=current.error_type,
                )
                self._give_up(attempt, spent, "budget")
                raise spent from current
            if hooks is not None and hooks.on_retry is not None:
                hooks.on_retry(RetryEvent(self.name, attempt, delay, waited, current))
            await clock.sleep(delay)
            waited += delay
            previous = delay


def _of(total: float | None) -> str:
    return f" of {total:.3f} s" if total is not None else ""


@functools.lru_cache(maxsize=64)
def _short_policy(
    on: RetryOn, attempts: int, wait_initial: float, wait_max: float, jitter: Jitter
) -> RetryPolicy:
    # Building and validating a policy costs ~12 µs; retry() is often called with the same
    # arguments, so the policy is reused (bounded: at most 64 kept).
    return RetryPolicy(default=Backoff(attempts, wait_initial, wait_max, jitter), on=on)


def _seconds(value: float | _dt.timedelta | None) -> float | None:
    return value.total_seconds() if isinstance(value, _dt.timedelta) else value


def retrying(
    *,
    on: RetryOn,
    attempts: int = 5,
    deadline: float | _dt.timedelta | None = None,
    wait_initial: float = 0.1,
    wait_max: float = 5.0,
    jitter: Jitter = Jitter.FULL,
    breaker: CircuitBreaker | None = None,
    budget: RetryBudget | None = None,
    attempt_timeout: float | AdaptiveTimeout | None = None,
    name: str = "retry",
    hooks: Hooks | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
) -> Resilience:
    """Return a :class:`Resilience` that retries exactly what *on* names (also a decorator).

    ``@retrying(on=MyError, attempts=5)`` decorates an async function; ``retrying(...).call(fn)``
    runs one call. Every keyword is optional except *on*.

    Args:
        on: What to retry: an exception class, a tuple of them, or a predicate
            ``(exc) -> bool | float`` (a number is the wait to use, in seconds).
        attempts: Attempts in total, the first included (1 means never retry).
        deadline: Total time allowed per call (attempts and waits), seconds or a timedelta.
        wait_initial: Delay before the first retry, before jitter, in seconds.
        wait_max: No wait is ever longer than this, in seconds.
        jitter: How the waits are randomised (full jitter by default).
        breaker: A circuit breaker shared by every call to the same upstream.
        budget: A retry budget shared by every call to the same upstream.
        attempt_timeout: Seconds allowed per attempt (a cut attempt is an
            :class:`~autodocs_core.errors.UpstreamTimeout`, retried only if *on* names it).
        name: The operation's name in notes, events and errors.
        hooks: Event callbacks.
        clock: Time source.
        rng: Randomness for jitter.

    Raises:
        ValueError: When a number is out of range.
        TypeError: When *on* is neither an exception class, a tuple of them nor a callable.

    .. versionadded:: 0.2.0
    """
    try:
        # (an unhashable argument raises TypeError: caught below)
        policy = _short_policy(on, attempts, wait_initial, wait_max, jitter)  # type: ignore[arg-type]
    except TypeError:  # an unhashable on= (e.g. a list by mistake): validate uncached
        policy = RetryPolicy(default=Backoff(attempts, wait_initial, wait_max, jitter), on=on)
    return Resilience(
        name=name,
        policy=policy,
        breaker=breaker,
        budget=budget,
        deadline=_seconds(deadline),
        attempt_timeout=attempt_timeout,
        clock=clock,
        rng=rng if rng is not None else _SHARED_RNG,
        hooks=hooks,
    )


async def retry(
    fn: Callable[[*Ts], Awaitable[T]],
    /,
    *args: *Ts,
    on: RetryOn,
    attempts: int = 5,
    deadline: float | _dt.timedelta | None = None,
    wait_initial: float = 0.1,
    wait_max: float = 5.0,
    breaker: CircuitBreaker | None = None,
    budget: RetryBudget | None = None,
    hooks: Hooks | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
) -> T:
    """Return ``await fn(*args)``, retrying the errors *on* names (short for :func:`retrying`).

    ::

        api = CircuitBreaker("api")
        user = await retry(fetch_user, 42, on=ApiError, attempts=5, breaker=api)

    When the call fails for good, the caller's own exception propagates with a note saying
    how many attempts were made and why it stopped (see :class:`Resilience`). Keyword
    arguments for *fn*: use :func:`functools.partial`.

    Args:
        fn: The async callable.
        *args: Its positional arguments.
        on: What to retry (see :func:`retrying`).
        attempts: Attempts in total.
        deadline: Total time allowed, seconds or a timedelta.
        wait_initial: Delay before the first retry, in seconds.
        wait_max: Longest wait, in seconds.
        breaker: A circuit breaker shared by calls to the same upstream.
        budget: A retry budget shared by calls to the same upstream.
        hooks: Event callbacks.
        clock: Time source.
        rng: Randomness for jitter.

    .. versionadded:: 0.2.0
    """
    settings = (
        on,
        attempts,
        deadline,
        wait_initial,
        wait_max,
        breaker,
        budget,
        getattr(fn, "__qualname__", "retry"),
        hooks,
        clock,
        rng,
    )
    try:
        guard = _short_guard(*settings)  # type: ignore[arg-type]
    except TypeError:  # something unhashable: build it uncached (and validate)
        guard = _short_guard.__wrapped__(*settings)
    return await guard._execute(fn, args, {}, None)


@functools.lru_cache(maxsize=128)
def _short_guard(
    on: RetryOn,
    attempts: int,
    deadline: float | _dt.timedelta | None,
    wait_initial: float,
    wait_max: float,
    breaker: CircuitBreaker | None,
    budget: RetryBudget | None,
    name: str,
    hooks: Hooks | None,
    clock: Clock,
    rng: random.Random | None,
) -> Resilience:
    # A guard is immutable and holds no per-call state, so retry() reuses one per distinct
    # set of arguments: building and validating it costs ~10 µs, several successful calls'
    # worth. Bounded (128), so callers that pass a new lambda each time cannot grow it.
    return retrying(
        on=on,
        attempts=attempts,
        deadline=deadline,
        wait_initial=wait_initial,
        wait_max=wait_max,
        breaker=breaker,
        budget=budget,
        name=name,
        hooks=hooks,
        clock=clock,
        rng=rng,
    )
