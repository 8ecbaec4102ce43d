"""Circuit breaker: a sans-I/O state machine (:class:`BreakerState`) and its guard.

Legal transitions::

    CLOSED ──(failures reach the threshold)──▶ OPEN
    OPEN ──(recovery time has passed; next acquire)──▶ HALF_OPEN
    HALF_OPEN ──(success_threshold probes succeed)──▶ CLOSED
    HALF_OPEN ──(a probe fails)──▶ OPEN

The failure triggers (consecutive failures, failure rate) open the breaker only when the failures
in the window span at least ``min_failing_resources`` distinct resources, or one of them is not
tied to a resource at all (a refused connection says something about the host; a 500 for one URL
says something about that URL). One package whose URL answers 500 cannot deny the host to the
healthy ones.

Every transition increments the *generation*. A permit carries the generation it was granted in,
and an outcome reported with a permit from another generation is ignored: a slow call that
started before the breaker opened cannot close it, and one that started while it was closed cannot
re-open it after it recovered.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, ParamSpec, TypeVar

import anyio
import attrs

from ..errors import (
    AutodocsError,
    BreakerOutcome,
    CircuitOpenError,
    MalformedResponse,
    UpstreamServerError,
    UpstreamTimeout,
)
from ._clock import SYSTEM_CLOCK, Clock
from ._hooks import BreakerTransition, Hooks
from ._state import CircuitState
from ._window import WindowCounts

__all__ = [
    "BreakerConfig",
    "BreakerState",
    "BreakerStatistics",
    "CircuitBreaker",
    "CircuitState",
    "default_outcome",
    "default_resource",
]

P = ParamSpec("P")
T = TypeVar("T")

_CALLS = 0
_FAILURES = 1
_MAX_TRACKED_RESOURCES = 64


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (0.0 < value <= 1.0):
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value!r}")


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


@attrs.frozen
class BreakerConfig:
    """When a breaker opens and how it recovers.

    The breaker opens when either trigger fires (set one to ``None`` to disable it):

    Args:
        consecutive_failures: Open after this many failures in a row.
        failure_rate: Open when at least this fraction of the calls in the window failed...
        minimum_calls: ...and the window holds at least this many calls.
        window: Length of the failure-rate window in seconds.
        recovery_time: Seconds to stay open before letting a probe through.
        recovery_jitter: Up to this fraction of ``recovery_time`` is added at random, so that
            many breakers (one per process) do not probe in lockstep.
        half_open_probes: Probes allowed in flight at once while half-open.
        success_threshold: Successful probes needed to close again.
        min_failing_resources: A trigger opens the breaker only when the failures of the last
            ``window`` seconds span at least this many distinct resources (URLs), or one of
            them is not tied to a resource (a refused connection, a failure reported without
            one). ``1`` restores the host-wide count.

    The defaults tolerate an upstream where half of all requests fail (retries handle that),
    open within about ``minimum_calls`` requests of a full outage, and never open for failures
    of fewer than three resources (one package answering 500 leaves the others reachable).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``min_failing_resources`` (default 3).
    """

    consecutive_failures: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    failure_rate: float | None = attrs.field(default=0.8, validator=_fraction)
    minimum_calls: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    window: float = attrs.field(default=30.0, validator=_positive)
    recovery_time: float = attrs.field(default=15.0, validator=_positive)
    recovery_jitter: float = attrs.field(default=0.1, validator=attrs.validators.ge(0.0))
    half_open_probes: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    success_threshold: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    min_failing_resources: int = attrs.field(
        default=3, validator=[attrs.validators.ge(1), attrs.validators.le(_MAX_TRACKED_RESOURCES)]
    )

    def __attrs_post_init__(self) -> None:
        if self.consecutive_failures is None and self.failure_rate is None:
            raise ValueError("a breaker needs consecutive_failures or failure_rate (or both)")


@attrs.frozen
class BreakerStatistics:
    """A snapshot of a breaker.

    Attributes:
        name: The breaker's name (usually the upstream host).
        state: Current state.
        generation: Number of transitions so far.
        consecutive_failures: Failures in a row while closed.
        window_calls: Calls counted in the failure-rate window.
        window_failures: Failures counted in the failure-rate window.
        open_until: When an open breaker lets a probe through (its clock), else ``None``.
        probes_in_flight: Half-open probes not yet reported.
        times_opened: How often the breaker has opened.
        failing_resources: Distinct resources that failed in the window while closed (a
            failure not tied to a resource counts as ``min_failing_resources``).
    """

    name: str
    state: CircuitState
    generation: int
    consecutive_failures: int
    window_calls: int
    window_failures: int
    open_until: float | None
    probes_in_flight: int
    times_opened: int
    failing_resources: int = 0


TransitionListener = Callable[[CircuitState, CircuitState, float], None]


class BreakerState:
    """The breaker's state machine: synchronous, no I/O, time passed in.

    Args:
        config: Thresholds and recovery settings.
        rng: Randomness for the recovery jitter.
        now: The current time on the clock that later calls use.
        listener: Called as ``listener(old, new, now)`` on each transition.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_consecutive",
        "_failing",
        "_host_failure_at",
        "_listener",
        "_probe_successes",
        "_probes",
        "_rng",
        "_window",
        "config",
        "generation",
        "open_until",
        "state",
        "times_opened",
    )

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        rng: random.Random | None = None,
        now: float = 0.0,
        listener: TransitionListener | None = None,
    ) -> None:
        self.config = config = config or BreakerConfig()
        self._rng = rng or random.Random()
        self._listener = listener
        self.state = CircuitState.CLOSED
        self.generation = 0
        self.open_until = 0.0
        self.times_opened = 0
        self._consecutive = 0
        self._probes = 0
        self._probe_successes = 0
        self._window = (
            WindowCounts(config.window, 10, 2, now) if config.failure_rate is not None else None
        )
        self._failing: OrderedDict[Hashable, float] = OrderedDict()
        self._host_failure_at: float | None = None

    def _move(self, new: CircuitState, now: float) -> None:
        old = self.state
        self.state = new
        self.generation += 1
        self._consecutive = 0
        self._probes = 0
        self._probe_successes = 0
        if self._window is not None:
            self._window.clear()
        self._failing.clear()
        self._host_failure_at = None
        if new is CircuitState.OPEN:
            cfg = self.config
            self.times_opened += 1
            self.open_until = now + cfg.recovery_time * (
                1.0 + cfg.recovery_jitter * self._rng.random()
            )
        if self._listener is not None:
            self._listener(old, new, now)

    def acquire(self, now: float) -> int | None:
        """Ask to make a call; return a permit (the generation) or ``None`` when refused."""
        state = self.state
        if state is CircuitState.CLOSED:
            return self.generation
        if state is CircuitState.OPEN:
            if now < self.open_until:
                return None
            self._move(CircuitState.HALF_OPEN, now)
        if self._probes >= self.config.half_open_probes:
            return None
        self._probes += 1
        return self.generation

    def retry_after(self, now: float) -> float:
        """Seconds until a refused caller may be admitted (an estimate while half-open)."""
        if self.state is CircuitState.OPEN:
            return max(0.0, self.open_until - now)
        return 0.0

    def on_success(self, permit: int, now: float) -> None:
        """Report that the call admitted with *permit* succeeded."""
        if permit != self.generation:
            return
        if self.state is CircuitState.CLOSED:
            self._consecutive = 0
            if self._window is not None:
                self._window.add(now, _CALLS)
        elif self.state is CircuitState.HALF_OPEN:
            self._probes -= 1
            self._probe_successes += 1
            if self._probe_successes >= self.config.success_threshold:
                self._move(CircuitState.CLOSED, now)

    def on_failure(self, permit: int, now: float, resource: Hashable | None = None) -> None:
        """Report that the call admitted with *permit* failed in a way that counts.

        Args:
            permit: What :meth:`acquire` returned.
            now: The current time.
            resource: What failed (a URL), or ``None`` when the failure is not tied to one
                resource (it then counts as the host's).

        .. versionchanged:: 0.2.0
           ``resource``.
        """
        if permit != self.generation:
            return
        if self.state is CircuitState.HALF_OPEN:
            self._move(CircuitState.OPEN, now)
            return
        if self.state is not CircuitState.CLOSED:
            return
        cfg = self.config
        self._consecutive += 1
        if resource is None:
            self._host_failure_at = now
        else:
            failing = self._failing
            failing[resource] = now
            failing.move_to_end(resource)
            if len(failing) > _MAX_TRACKED_RESOURCES:
                failing.popitem(last=False)
        tripped = (
            cfg.consecutive_failures is not None and self._consecutive >= cfg.consecutive_failures
        )
        window = self._window
        if window is not None:
            window.add(now, _CALLS)
            window.add(now, _FAILURES)
            calls = window.total(now, _CALLS)
            if calls >= cfg.minimum_calls and (
                window.total(now, _FAILURES) >= calls * (cfg.failure_rate or 1.0)
            ):
                tripped = True
        if tripped and self.failing_resources(now) >= cfg.min_failing_resources:
            self._move(CircuitState.OPEN, now)

    def failing_resources(self, now: float) -> int:
        """Return how many distinct resources failed in the last ``window`` seconds.

        A failure not tied to a resource in that time makes it ``min_failing_resources`` (or
        more): it is evidence about the whole host.

        .. versionadded:: 0.2.0
        """
        horizon = now - self.config.window
        failing = self._failing
        while failing:
            oldest = next(iter(failing))
            if failing[oldest] > horizon:
                break
            del failing[oldest]
        count = len(failing)
        host = self._host_failure_at
        if host is not None and host > horizon:
            count = max(count, self.config.min_failing_resources)
        return count

    def on_ignore(self, permit: int) -> None:
        """Report that the call admitted with *permit* ended without a verdict (e.g. cancelled).

        It frees a half-open probe slot and changes nothing else.
        """
        if permit == self.generation and self.state is CircuitState.HALF_OPEN:
            self._probes -= 1

    def window_counts(self, now: float) -> tuple[int, int]:
        """Return ``(calls, failures)`` in the failure-rate window (zeros when it is disabled)."""
        if self._window is None:
            return (0, 0)
        return (self._window.total(now, _CALLS), self._window.total(now, _FAILURES))

    @property
    def consecutive_failures(self) -> int:
        """Failures in a row while closed."""
        return self._consecutive

    @property
    def probes_in_flight(self) -> int:
        """Half-open probes admitted and not yet reported."""
        return self._probes


def default_resource(exc: BaseException) -> Hashable | None:
    """Return the resource (URL) a failure is tied to, or ``None`` when it is the host's.

    Tied to a resource: a 5xx answer, a malformed body, and a timeout waiting for one URL's
    answer, which may be that resource's problem alone; the breaker opens for those only when
    they span resources (:attr:`BreakerConfig.min_failing_resources`). A ``None`` failure
    (refused connection, DNS, reset, a timeout connecting) is evidence about the whole host.

    .. versionadded:: 0.2.0
    """
    if isinstance(exc, UpstreamServerError | MalformedResponse) or (
        isinstance(exc, UpstreamTimeout)
        and exc.details.get("phase") not in ("connect", "pool", "write")
    ):
        url = exc.details.get("url")
        if isinstance(url, str) and url:
            return url
    return None


def default_outcome(exc: BaseException) -> BreakerOutcome:
    """Return what *exc* says about the upstream: its ``breaker_outcome``, else ``"ignore"``.

    Errors that are not :class:`~autodocs_core.errors.AutodocsError` (bugs, validation errors
    raised before any I/O) never count.
    """
    if isinstance(exc, AutodocsError):
        return exc.breaker_outcome
    return "ignore"


class CircuitBreaker:
    """A circuit breaker for one upstream.

    Use it through :class:`~autodocs_core.resilience.Resilience`, or on its own with
    :meth:`call`. :meth:`acquire` / :meth:`release` are the low-level pair.

    Args:
        name: The upstream's name (usually its host); appears in errors and events.
        config: Thresholds and recovery settings.
        clock: Time source.
        rng: Randomness for the recovery jitter.
        hooks: ``hooks.on_state_change`` receives a :class:`BreakerTransition` per transition.
        outcome: Classifies an exception as ``"failure"``, ``"success"`` or ``"ignore"``;
            defaults to :func:`default_outcome`. Cancellation never counts, whatever it says.
        resource: Maps a failure to the resource it is tied to, or ``None`` for the host;
            defaults to :func:`default_resource`.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``resource``.
    """

    __slots__ = ("_clock", "_hooks", "_outcome", "_resource", "_state", "name")

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        hooks: Hooks | None = None,
        outcome: Callable[[BaseException], BreakerOutcome] = default_outcome,
        resource: Callable[[BaseException], Hashable | None] = default_resource,
    ) -> None:
        self.name = name
        self._clock = clock
        self._hooks = hooks
        self._outcome = outcome
        self._resource = resource
        listener = self._notify if hooks is not None and hooks.on_state_change else None
        self._state = BreakerState(config, rng=rng, now=clock.now(), listener=listener)

    def _notify(self, old: CircuitState, new: CircuitState, now: float) -> None:
        hooks = self._hooks
        if hooks is not None and hooks.on_state_change is not None:
            hooks.on_state_change(BreakerTransition(self.name, old, new, now))

    @property
    def state(self) -> CircuitState:
        """The current state (an open breaker turns half-open only on the next acquire)."""
        return self._state.state

    @property
    def config(self) -> BreakerConfig:
        """The breaker's configuration."""
        return self._state.config

    def acquire(self) -> int:
        """Return a permit for one call, or raise :class:`CircuitOpenError`."""
        state = self._state
        now = self._clock.now()
        permit = state.acquire(now)
        if permit is None:
            raise CircuitOpenError(self.name, retry_after=state.retry_after(now))
        return permit

    def release(
        self, permit: int, exc: BaseException | None = None, *, retried: bool = False
    ) -> None:
        """Report the outcome of the call admitted with *permit*.

        Args:
            permit: What :meth:`acquire` returned.
            exc: The exception the call raised, or ``None`` when it succeeded.
            retried: Whether the caller's retry policy retries *exc*. With the default
                ``outcome`` function, an exception that is not an autodocs error then counts
                as a failure (the caller says it is an upstream fault); otherwise as nothing.

        .. versionchanged:: 0.2.0
           *retried* was added.
        """
        state = self._state
        if exc is None:
            state.on_success(permit, self._clock.now())
            return
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            state.on_ignore(permit)
            return
        if retried and self._outcome is default_outcome and not isinstance(exc, AutodocsError):
            state.on_failure(permit, self._clock.now())
            return
        outcome = self._outcome(exc)
        if outcome == "failure":
            state.on_failure(permit, self._clock.now(), self._resource(exc))
        elif outcome == "success":
            state.on_success(permit, self._clock.now())
        else:
            state.on_ignore(permit)

    def release_unused(self, permit: int) -> None:
        """Give back a permit whose call was never made (it counts as nothing)."""
        self._state.on_ignore(permit)

    async def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await fn(*args, **kwargs)`` under the breaker (no retries)."""
        permit = self.acquire()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self.release(permit, exc)
            raise
        self._state.on_success(permit, self._clock.now())
        return result

    def statistics(self) -> BreakerStatistics:
        """Return a snapshot of the breaker."""
        s = self._state
        now = self._clock.now()
        calls, failures = s.window_counts(now)
        return BreakerStatistics(
            name=self.name,
            state=s.state,
            generation=s.generation,
            consecutive_failures=s.consecutive_failures,
            window_calls=calls,
            window_failures=failures,
            open_until=s.open_until if s.state is CircuitState.OPEN else None,
            probes_in_flight=s.probes_in_flight,
            times_opened=s.times_opened,
            failing_resources=s.failing_resources(now),
        )

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self._state.state.value})"
