"""The states of a circuit breaker (its own module: the breaker and its events both need it)."""

from __future__ import annotations

import enum

__all__ = ["CircuitState"]


class CircuitState(enum.Enum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
