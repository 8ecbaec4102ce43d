"""Backoff and retry policies, chosen by error type. Pure: no I/O, no await, no global random.

Any exception class can key a :class:`RetryPolicy`: the caller's own errors are retried exactly
like autodocs' own (see :meth:`RetryPolicy.verdict` for the rule).
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import enum
import math
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeAlias

import attrs

from ..errors import (
    AutodocsError,
    MalformedResponse,
    RateLimited,
    UpstreamConnectError,
    UpstreamError,
    UpstreamNetworkError,
    UpstreamServerError,
    UpstreamTimeout,
)

__all__ = [
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_POLICY",
    "Backoff",
    "Jitter",
    "RetryOn",
    "RetryPolicy",
    "SupportsRetryAfter",
    "parse_retry_after",
    "retry_after_of",
]

RetryOn: TypeAlias = (
    type[BaseException]
    | tuple[type[BaseException], ...]
    | Callable[[BaseException], "bool | float | _dt.timedelta"]
)
"""What ``on=`` accepts: a class, a tuple of classes, or a predicate.

A predicate returns ``True`` (retry, with the computed backoff), ``False`` (do not retry) or a
number of seconds (or a :class:`~datetime.timedelta`): retry after exactly that long.

.. versionadded:: 0.2.0
"""


class SupportsRetryAfter(Protocol):
    """An exception that knows how long the other side asked us to wait.

    Any exception with a ``retry_after`` attribute (seconds, or ``None`` when it did not say)
    is honoured by the retry loop: a positive value replaces the computed delay (capped by
    :attr:`RetryPolicy.max_retry_after`); anything else (``None``, zero, negative, NaN, not a
    number) falls back to the computed backoff, so a bad hint never means a zero wait.

    .. versionadded:: 0.2.0
    """

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before the next attempt, or ``None``."""
        ...


def retry_after_of(error: BaseException) -> float | None:
    """Return the positive, finite wait that *error* asks for (``retry_after``), else ``None``.

    Accepts seconds as ``int`` / ``float`` or a :class:`~datetime.timedelta`. Zero, negative,
    NaN, infinite or non-numeric values give ``None``: the caller falls back to its backoff.

    .. versionadded:: 0.2.0
    """
    value = getattr(error, "retry_after", None)
    if isinstance(value, _dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    if not (seconds > 0.0 and math.isfinite(seconds)):
        return None
    return seconds


def _wait_of(verdict: object) -> float | None:
    """Return the wait a predicate asked for (a finite number >= 0), else ``None``."""
    if isinstance(verdict, _dt.timedelta):
        verdict = verdict.total_seconds()
    if isinstance(verdict, bool) or not isinstance(verdict, int | float):
        return None
    seconds = float(verdict)
    return seconds if seconds >= 0.0 and math.isfinite(seconds) else None


DEFAULT_MAX_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` we honour, in seconds; larger values are capped to it."""


class Jitter(enum.Enum):
    """How randomness spreads the delays of many callers (AWS Architecture Blog, 2015).

    - ``NONE``: the exponential delay itself.
    - ``FULL``: uniform in ``[0, exp]``; spreads callers the most.
    - ``EQUAL``: ``exp/2`` plus uniform in ``[0, exp/2]``; never retries immediately.
    - ``DECORRELATED``: uniform in ``[base, 3 × previous]``, capped; adapts to the last delay.

    .. versionadded:: 0.1.0
    """

    NONE = "none"
    FULL = "full"
    EQUAL = "equal"
    DECORRELATED = "decorrelated"


def _check_non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


@attrs.frozen
class Backoff:
    """How often and how patiently to retry one kind of error.

    Args:
        attempts: Maximum number of attempts in total (1 means never retry).
        base: Delay before the first retry, in seconds (before jitter).
        cap: No delay is ever longer than this, in seconds.
        jitter: How to randomise the delays.
        multiplier: Growth factor of the exponential delay.

    .. versionadded:: 0.1.0
    """

    attempts: int = attrs.field(validator=attrs.validators.ge(1))
    base: float = attrs.field(converter=float, validator=_check_non_negative)
    cap: float = attrs.field(converter=float, validator=_check_non_negative)
    jitter: Jitter = Jitter.FULL
    multiplier: float = attrs.field(
        default=2.0, converter=float, validator=attrs.validators.ge(1.0)
    )

    def exponential(self, retry: int) -> float:
        """Return the un-jittered delay before retry number *retry* (1-based), capped.

        Safe for any *retry*: the power is never computed when it would exceed the cap, so huge
        retry numbers cannot overflow.
        """
        if self.base <= 0.0 or self.cap <= 0.0:
            return 0.0
        n = max(0, retry - 1)
        if self.multiplier == 1.0 or self.base >= self.cap:
            return min(self.base, self.cap)
        # base * multiplier**n >= cap  <=>  n * log(multiplier) >= log(cap) - log(base)
        # (in logs, so neither a huge n nor a subnormal base can overflow)
        log_delay = math.log(self.base) + n * math.log(self.multiplier)
        if log_delay >= math.log(self.cap):
            return self.cap
        return min(self.cap, math.exp(log_delay))

    def delay(self, retry: int, rng: random.Random, previous: float | None = None) -> float:
        """Return the delay before retry number *retry* (1-based), always in ``[0, cap]``.

        Args:
            retry: 1 for the first retry, 2 for the second, ...
            rng: Source of randomness (inject a seeded one in tests).
            previous: The previous delay (used by decorrelated jitter).
        """
        jitter = self.jitter
        if jitter is Jitter.DECORRELATED:
            low = min(self.base, self.cap)
            prev = low if previous is None else previous
            high = min(self.cap, max(low, 3.0 * prev))
            return min(self.cap, low + rng.random() * (high - low))
        exp = self.exponential(retry)
        if jitter is Jitter.FULL:
            return exp * rng.random()
        if jitter is Jitter.EQUAL:
            half = exp / 2.0
            return half + half * rng.random()
        return exp


def _backoff_table(
    value: Mapping[type[BaseException], Backoff] | Iterable[tuple[type[BaseException], Backoff]],
) -> tuple[tuple[type[BaseException], Backoff], ...]:
    # A mapping from users, or the stored tuple of pairs again (attrs.evolve passes it back).
    table = tuple(dict(value).items())
    for cls, backoff in table:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(f"retry policy keys must be exception classes, got {cls!r}")
        if not isinstance(backoff, Backoff):
            raise TypeError(f"retry policy values must be Backoff, got {backoff!r}")
    return table


def _check_on(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None or (callable(value) and not isinstance(value, type)):
        return
    classes = value if isinstance(value, tuple) else (value,)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(
                f"{attribute.name}= takes an exception class, a tuple of them or a predicate, "
                f"got {value!r}"
            )


@attrs.frozen
class RetryPolicy:
    """Which errors to retry, and how: maps exception classes to :class:`Backoff` settings.

    Any exception class may key the table, autodocs' own or the caller's; the most specific
    class in the error's MRO wins. Whether an error is retried at all (:meth:`verdict`):

    1. Autodocs errors whose class is not ``retryable`` (TLS, 4xx, invalid input, ...) never
       are, whatever the table or ``on`` say; nor is anything that is not an ``Exception``.
    2. When ``on`` is given, it decides: a class or tuple of classes retries its instances; a
       predicate returns ``True`` / ``False``, or the number of seconds to wait.
    3. Otherwise an error is retried when it is a ``retryable`` autodocs error or when its
       class (or a base class) has an entry in the table.

    A retried error gets its table entry's backoff, else ``default``.

    Args:
        table: Error class to backoff, e.g. ``{MyError: Backoff(5, 0.05, 1.0)}``.
        default: Backoff for retried errors without an entry.
        max_retry_after: Cap, in seconds, on the wait a server may ask for with ``Retry-After``.
        on: What to retry (see above); ``None`` means: the table and autodocs' own rule.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Any exception class is retried when the table names it; ``on=`` was added.
    """

    table: tuple[tuple[type[BaseException], Backoff], ...] = attrs.field(
        default=(), converter=_backoff_table
    )
    default: Backoff = attrs.field(factory=lambda: Backoff(2, 0.5, 2.0))
    max_retry_after: float = attrs.field(
        default=DEFAULT_MAX_RETRY_AFTER, converter=float, validator=_check_non_negative
    )
    on: RetryOn | None = attrs.field(default=None, validator=_check_on, kw_only=True)
    _cache: dict[type[BaseException], tuple[Backoff, bool]] = attrs.field(
        init=False, factory=dict, eq=False, repr=False, hash=False
    )

    @property
    def max_attempts(self) -> int:
        """The most attempts any error kind may get."""
        return max([self.default.attempts, *(b.attempts for _, b in self.table)])

    def _lookup(self, cls: type[BaseException]) -> tuple[Backoff, bool]:
        """Return (backoff, whether the table names *cls* or a base class) for *cls*."""
        found = self._cache.get(cls)
        if found is None:
            found = (self.default, False)
            entries = dict(self.table)
            for klass in cls.__mro__:
                if klass in entries:
                    found = (entries[klass], True)
                    break
            if len(self._cache) < 1024:  # bounded: classes can be made at run time
                self._cache[cls] = found
        return found

    def backoff_for(self, error: BaseException) -> Backoff:
        """Return the backoff for *error*: its most specific class in the table, else default."""
        return self._lookup(type(error))[0]

    def verdict(self, error: BaseException) -> bool | float:
        """Decide whether *error* is retried: ``False``, ``True``, or the seconds to wait.

        Pure and synchronous; see the class docstring for the rule. A predicate's number that is
        not a usable wait (negative, NaN, infinite) means: retry after the computed backoff; an
        answer that is neither a bool nor a number counts by its truth value (``None``: no).

        .. versionadded:: 0.2.0
        """
        if not isinstance(error, Exception):
            return False
        if isinstance(error, AutodocsError) and not error.retryable:
            return False
        on = self.on
        if on is None:
            return isinstance(error, AutodocsError) or self._lookup(type(error))[1]
        if isinstance(on, type | tuple):
            return isinstance(error, on)
        answer: object = on(error)  # typed, but user code may return anything
        if answer is False or answer is True:
            return answer
        if not isinstance(answer, int | float | _dt.timedelta):
            return bool(answer)  # e.g. None from a predicate that forgot to return: no retry
        wait = _wait_of(answer)
        return True if wait is None else wait

    def attempts_for(self, error: BaseException) -> int:
        """Return how many attempts in total *error* allows (1 when it is not retried)."""
        if self.verdict(error) is False:
            return 1
        return self.backoff_for(error).attempts

    def delay_for(
        self,
        error: BaseException,
        retry: int,
        rng: random.Random,
        previous: float | None = None,
        *,
        verdict: bool | float = True,
    ) -> float:
        """Return the wait before retry number *retry* after *error*. Pure.

        In order: a wait the ``on`` predicate returned (*verdict*); else the error's own
        positive ``retry_after`` (:class:`SupportsRetryAfter`), capped at
        :attr:`max_retry_after`; else the computed backoff. A zero, negative, past or garbled
        ``retry_after`` therefore never turns into a zero wait.

        Args:
            error: The error that failed the attempt.
            retry: 1 for the first retry, 2 for the second, ...
            rng: Randomness for jitter.
            previous: The previous delay (for decorrelated jitter).
            verdict: What :meth:`verdict` returned for *error*.

        .. versionadded:: 0.2.0
        """
        if verdict is not True and verdict is not False:
            return float(verdict)
        asked = retry_after_of(error)
        if asked is not None:
            # The server said when to come back: that replaces our guess (capped).
            return min(asked, self.max_retry_after)
        return self.backoff_for(error).delay(retry, rng, previous)

    def without_delays(self) -> RetryPolicy:
        """Return a copy with the same attempts and every delay zero (for users' tests)."""

        def zero(b: Backoff) -> Backoff:
            return attrs.evolve(b, base=0.0, cap=0.0)

        on = self.on
        if on is not None and not isinstance(on, type | tuple):
            predicate = on

            def on_without_wait(error: BaseException) -> bool:
                answer: object = predicate(error)
                return isinstance(answer, int | float | _dt.timedelta) or bool(answer)

            on = on_without_wait
        return RetryPolicy(
            {k: zero(b) for k, b in self.table},
            default=zero(self.default),
            max_retry_after=0.0,
            on=on,
        )

    @classmethod
    def never(cls) -> RetryPolicy:
        """Return a policy that makes exactly one attempt for every error."""
        return cls({}, default=Backoff(1, 0.0, 0.0))


# Why these numbers (docs/resilience.md explains the arithmetic):
# - Timeouts: the seed gave 2 attempts. When half of all requests hang, 2 attempts succeed for only
#   75% of calls; 6 attempts succeed for 98.4% (1 - 0.5**6) while sending 1.97 requests per call
#   on average. Each attempt is bounded by the per-attempt timeout, so the wait between attempts
#   stays short: the timeout itself already spaced them.
# - Connect errors fail fast (refused, DNS); 3 attempts ride out a restart, the breaker handles
#   longer outages.
# - 429: Retry-After (capped) overrides the computed delay; 6 attempts: at a 50% 429 rate,
#   5 attempts (the seed's) fail 3.1% of calls, 6 fail 1.6%.
# - 5xx: 5 attempts with equal jitter from 0.5 s: never an immediate retry into an overloaded
#   server, and the retries span 3.75-7.5 s, so a call outlives a short bad period (the fault
#   lab's flapping index: 85% success with 4 attempts from 0.25 s full jitter, 98-99.7% now).
# - Malformed answers (truncated, garbage): 3 attempts, so that one earlier fault of another
#   kind in the same call does not leave a single try for a transient bad body (attempts
#   count per call, not per error kind).
DEFAULT_POLICY = RetryPolicy(
    {
        UpstreamTimeout: Backoff(6, 0.05, 0.5, Jitter.FULL),
        UpstreamConnectError: Backoff(3, 0.2, 2.0, Jitter.FULL),
        UpstreamNetworkError: Backoff(4, 0.1, 1.0, Jitter.FULL),
        RateLimited: Backoff(6, 2.0, 30.0, Jitter.EQUAL),
        UpstreamServerError: Backoff(5, 0.5, 4.0, Jitter.EQUAL),
        MalformedResponse: Backoff(3, 0.1, 1.0, Jitter.FULL),
        UpstreamError: Backoff(2, 0.5, 2.0, Jitter.FULL),
    },
    default=Backoff(2, 0.5, 2.0, Jitter.FULL),
)
"""The default policy: tuned so that, when half of all requests hang, ≥ 97% of calls succeed."""


def parse_retry_after(
    value: str | bytes | None, *, now_wall: float, cap: float = DEFAULT_MAX_RETRY_AFTER
) -> float | None:
    """Parse a ``Retry-After`` value (RFC 9110 §10.2.3) into seconds to wait.

    Total: it never raises. Accepts delay-seconds (``"120"``, leniently also ``"1.5"``) and an
    HTTP-date. Anything that does not name a positive wait gives ``None``, so that the caller
    falls back to its computed backoff and never retries at once into a server that is
    shedding load: garbage, NaN, infinity, over-long values, zero, a negative delay and a date
    in the past. A wait above *cap* gives *cap*.

    Args:
        value: The raw header value, or ``None`` when the header is absent.
        now_wall: The current wall-clock time (seconds since the epoch), for HTTP-dates.
        cap: The largest wait to return, in seconds.

    Returns:
        Seconds to wait, in ``(0, cap]`` (``0.0`` only when *cap* is 0), or ``None``.

    .. versionchanged:: 0.2.0
       Zero, negative and past values give ``None`` (was ``0.0``).
    """
    if value is None:
        return None
    try:
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        text = text.strip()
        if not text or len(text) > 64:
            return None
        seconds: float
        if text.lstrip("+-").replace(".", "", 1).isdigit() and text.isascii():
            seconds = float(text)
        else:
            parsed = email.utils.parsedate_to_datetime(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_dt.UTC)
            seconds = parsed.timestamp() - now_wall
        if not (math.isfinite(seconds) and seconds > 0.0):
            return None
        return min(seconds, max(0.0, cap))
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
