"""Observation points of the resilience layer: frozen event objects and the :class:`Hooks` set.

Hooks are plain synchronous callables; they must be fast and must not raise (an exception from a
hook is a bug in the hook and propagates). Nothing is called, and nothing costs, when a hook is not
configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._state import CircuitState

__all__ = ["AttemptEvent", "BreakerTransition", "GiveUpEvent", "Hooks", "RetryEvent"]


def error_kind(error: BaseException) -> str:
    """Return a short, stable label for *error*: its ``error_type``, else its class name."""
    kind = getattr(error, "error_type", None)
    return kind if isinstance(kind, str) else type(error).__name__


@attrs.frozen
class AttemptEvent:
    """An attempt is about to start.

    Attributes:
        name: The operation's name.
        attempt: 1 for the first attempt, 2 for the first retry, ...
    """

    name: str
    attempt: int


@attrs.frozen
class RetryEvent:
    """An attempt failed and the call will retry after ``wait_for`` seconds.

    Attributes:
        name: The operation's name.
        attempt: The attempt that failed (1-based).
        wait_for: Seconds until the next attempt.
        waited_so_far: Seconds spent sleeping between attempts so far (before this wait).
        error: The error that caused the retry (any exception the policy retries).

    .. versionchanged:: 0.2.0
       ``error`` may be any exception, not only an autodocs error.
    """

    name: str
    attempt: int
    wait_for: float
    waited_so_far: float
    error: BaseException


@attrs.frozen
class GiveUpEvent:
    """The call failed for good.

    Attributes:
        name: The operation's name.
        attempts: Attempts made.
        error: The error the caller receives.
        reason: Why no further attempt: ``"not_retryable"``, ``"attempts"``, ``"deadline"``,
            ``"budget"`` or ``"circuit_open"``.
    """

    name: str
    attempts: int
    error: BaseException
    reason: str


@attrs.frozen
class BreakerTransition:
    """A circuit breaker changed state.

    Attributes:
        name: The breaker's name.
        old: The state it left.
        new: The state it entered.
        at: When, on the breaker's clock.
    """

    name: str
    old: CircuitState
    new: CircuitState
    at: float


@attrs.frozen
class Hooks:
    """Callbacks for resilience events; each is optional.

    Args:
        on_attempt: Called before each attempt.
        on_retry: Called before sleeping for a retry.
        on_give_up: Called when a call fails for good.
        on_state_change: Called when a breaker changes state.

    .. versionadded:: 0.1.0
    """

    on_attempt: Callable[[AttemptEvent], None] | None = None
    on_retry: Callable[[RetryEvent], None] | None = None
    on_give_up: Callable[[GiveUpEvent], None] | None = None
    on_state_change: Callable[[BreakerTransition], None] | None = None

    @classmethod
    def combine(cls, *many: Hooks | None) -> Hooks:
        """Return hooks that call each of *many* in order (``None`` entries are skipped)."""
        present = [h for h in many if h is not None]

        def fan(attr: str) -> Callable[[object], None] | None:
            fns = [f for h in present if (f := getattr(h, attr)) is not None]
            if not fns:
                return None
            if len(fns) == 1:
                return fns[0]  # type: ignore[no-any-return]

            def call_all(event: object) -> None:
                for fn in fns:
                    fn(event)

            return call_all

        return cls(
            on_attempt=fan("on_attempt"),
            on_retry=fan("on_retry"),
            on_give_up=fan("on_give_up"),
            on_state_change=fan("on_state_change"),
        )
