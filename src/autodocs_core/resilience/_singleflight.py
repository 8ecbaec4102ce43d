"""Single flight: concurrent calls with the same key share one execution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Call:
    __slots__ = ("done", "error", "result", "settled")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.settled = False
        self.result: Any = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Runs at most one ``fn()`` per key at a time; callers arriving meanwhile share its outcome.

    If the caller running the work is cancelled, the waiting callers are not: one of them runs
    the work again. The in-flight table holds only keys being worked on (bounded by concurrency).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_calls", "shared")

    def __init__(self) -> None:
        self._calls: dict[Hashable, _Call] = {}
        self.shared = 0  # how many callers were served by another caller's execution

    def in_flight(self) -> int:
        """Return the number of keys being worked on."""
        return len(self._calls)

    async def do(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """Return ``await fn()``, or the outcome of the identical call already in flight."""
        while True:
            call = self._calls.get(key)
            if call is None:
                break
            await call.done.wait()
            if call.settled:
                self.shared += 1
                if call.error is not None:
                    raise call.error
                return call.result  # type: ignore[no-any-return]
            # the runner was cancelled: try to become the runner ourselves
        call = self._calls[key] = _Call()
        try:
            call.result = await fn()
            call.settled = True
            return call.result  # type: ignore[no-any-return]
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            call.error = exc
            call.settled = True
            raise
        finally:
            del self._calls[key]
            call.done.set()
