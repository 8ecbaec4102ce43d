"""The one shutdown helper both transports use: first signal drains, a second exits 130."""

from __future__ import annotations

import os
import signal
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from autodocs_mcp._shutdown import drain_calls, watch_signals

pytestmark = pytest.mark.anyio


class FakeService:
    """Records begin_shutdown; metrics.wait_idle waits for an event the test sets."""

    def __init__(self) -> None:
        self.shutting_down = False
        self.idle = anyio.Event()
        self.metrics = self

    def begin_shutdown(self) -> None:
        self.shutting_down = True

    async def wait_idle(self) -> None:
        await self.idle.wait()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
async def test_first_signal_drains_second_exits_130() -> None:
    """SIGTERM: new calls refused and the drain started (once); another: exit 130 at once."""
    service = FakeService()
    drains: list[bool] = []
    exits: list[int] = []
    drained, exited = anyio.Event(), anyio.Event()

    def start_drain() -> None:
        drains.append(service.shutting_down)  # refused before the drain starts
        drained.set()

    def hard_exit(code: int) -> None:
        exits.append(code)
        exited.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(
                lambda task_status: watch_signals(
                    lambda: service, start_drain, hard_exit=hard_exit, task_status=task_status
                )
            )
            os.kill(os.getpid(), signal.SIGTERM)
            await drained.wait()
            os.kill(os.getpid(), signal.SIGINT)
            await exited.wait()
            tg.cancel_scope.cancel()
    assert drains == [True] and exits == [130]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
async def test_a_signal_before_the_service_opened_still_drains() -> None:
    """No service yet: nothing to refuse, the drain still starts."""
    drained = anyio.Event()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(
                lambda task_status: watch_signals(
                    lambda: None, drained.set, hard_exit=lambda _: None, task_status=task_status
                )
            )
            os.kill(os.getpid(), signal.SIGTERM)
            await drained.wait()
            tg.cancel_scope.cancel()


async def test_drain_waits_for_the_calls_within_the_grace() -> None:
    """Calls in flight: wait until idle; never longer than the grace; no service: at once."""
    service: Any = FakeService()
    done: list[bool] = []

    async def drain() -> None:
        await drain_calls(service, 60, flush=0)
        done.append(True)

    with anyio.fail_after(10):
        await drain_calls(None, 60, flush=0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            await anyio.wait_all_tasks_blocked()
            assert not done  # a call is still in flight
            service.idle.set()  # the last call finished: the drain returns
        assert done
        await drain_calls(FakeService(), 0.01, flush=0)  # never idle: the grace ends it
