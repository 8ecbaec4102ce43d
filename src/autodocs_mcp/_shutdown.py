"""Shutdown on SIGTERM/SIGINT, the same for both transports (stdio and HTTP).

The first signal logs, makes the service refuse new calls and starts the transport's drain; a
second signal exits at once (130).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.abc

if TYPE_CHECKING:
    from autodocs_core.service import DocsService

__all__ = ["SIGNALS", "drain_calls", "watch_signals"]

log = logging.getLogger("autodocs")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals that stop the server."""


async def watch_signals(
    service: Callable[[], DocsService | None],
    start_drain: Callable[[], object],
    *,
    hard_exit: Callable[[int], object] = os._exit,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Wait for SIGTERM/SIGINT; on the first, refuse new calls and drain; on a second, exit 130.

    Args:
        service: The service serving calls now (None before it opens or after it closed).
        start_drain: Begins the transport's drain and returns at once (stdio: start a task that
            waits for the calls and exits; HTTP: tell uvicorn to stop, which gives in-flight
            requests the grace period).
        hard_exit: Ends the process with a code (``os._exit``; tests inject a recorder).
        task_status: Started once the signal handlers are installed.
    """
    with anyio.open_signal_receiver(*SIGNALS) as signals:
        task_status.started()
        async for _ in signals:
            log.warning("shutting down (signal)")
            current = service()
            if current is not None:
                current.begin_shutdown()  # new calls are refused from here on
            start_drain()
            async for _ in signals:
                hard_exit(130)


async def drain_calls(service: DocsService | None, grace: float, *, flush: float) -> None:
    """Wait up to *grace* seconds for the calls in flight, then *flush* for their answers.

    The answers still pass through the transport's writer task after the calls finish: it gets
    *flush* seconds (within the grace period) to write them.
    """
    if service is None:
        return
    with anyio.move_on_after(grace):
        await service.metrics.wait_idle()
        await anyio.sleep(flush)
