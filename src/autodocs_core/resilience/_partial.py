"""Partial success as a value: :class:`PartialResult` of items and :class:`FailedItem` entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ..errors import AutodocsError, InternalError

__all__ = ["ErrorPayload", "FailedItem", "PartialResult"]

T = TypeVar("T")


def _frozen_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


def _as_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class ErrorPayload:
    """An error as data: the five fields of :meth:`AutodocsError.to_payload`.

    .. versionadded:: 0.1.0
    """

    error: str
    error_type: str
    details: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict, hash=False)
    suggestions: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)
    recovery_actions: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)

    @classmethod
    def from_exception(cls, exc: BaseException, *, operation: str = "operation") -> ErrorPayload:
        """Build the payload of *exc*; an unexpected exception becomes ``internal_error``.

        The message of an unexpected exception is not copied (it may hold internals).
        """
        error = (
            exc
            if isinstance(exc, AutodocsError)
            else InternalError(operation, exc_type=type(exc).__name__)
        )
        return cls(**error.to_payload())

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON-compatible payload (lists, not tuples)."""
        return {
            "error": self.error,
            "error_type": self.error_type,
            "details": dict(self.details),
            "suggestions": list(self.suggestions),
            "recovery_actions": list(self.recovery_actions),
        }


@attrs.frozen
class FailedItem:
    """One input that failed, with its error payload.

    Attributes:
        key: What failed (a package name, an input's label).
        error: The error as data.

    .. versionadded:: 0.1.0
    """

    key: str
    error: ErrorPayload

    @classmethod
    def from_exception(cls, key: str, exc: BaseException) -> FailedItem:
        """Record that *key* failed with *exc*."""
        return cls(key, ErrorPayload.from_exception(exc, operation=key))


@attrs.frozen
class PartialResult(Generic[T]):
    """What succeeded and what failed, when some of many items fail.

    Never all-or-nothing: a caller gets every success even when other items fail.

    Attributes:
        succeeded: The items that succeeded, in completion or input order (the producer says).
        failed: One entry per failed item.
        warnings: Notes a person should see (e.g. stale data was served).

    .. versionadded:: 0.1.0
    """

    succeeded: tuple[T, ...] = attrs.field(default=(), converter=_as_tuple)
    failed: tuple[FailedItem, ...] = attrs.field(default=(), converter=_as_tuple)
    warnings: tuple[str, ...] = attrs.field(default=(), converter=_as_tuple)

    @classmethod
    def collect(
        cls,
        succeeded: Iterable[T],
        failed: Iterable[FailedItem] = (),
        warnings: Iterable[str] = (),
    ) -> PartialResult[T]:
        """Build a result from any iterables."""
        return cls(tuple(succeeded), tuple(failed), tuple(warnings))

    @property
    def total(self) -> int:
        """Number of items, succeeded and failed."""
        return len(self.succeeded) + len(self.failed)

    @property
    def is_complete(self) -> bool:
        """True when nothing failed (an empty result is complete)."""
        return not self.failed

    @property
    def is_partial(self) -> bool:
        """True when some items succeeded and some failed."""
        return bool(self.succeeded) and bool(self.failed)

    @property
    def is_failure(self) -> bool:
        """True when items failed and none succeeded."""
        return bool(self.failed) and not self.succeeded

    @property
    def success_rate(self) -> float:
        """Fraction of items that succeeded, in ``[0, 1]`` (1.0 for an empty result)."""
        total = self.total
        return len(self.succeeded) / total if total else 1.0
