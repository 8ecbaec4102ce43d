"""Single flight: one execution per key at a time, shared outcomes, cancellation-safe."""

from __future__ import annotations

import anyio
import pytest

from autodocs_core.resilience import SingleFlight

pytestmark = pytest.mark.anyio


async def test_concurrent_callers_share_one_execution() -> None:
    """Ten callers, one run; all get its result; the table is empty afterwards."""
    flight: SingleFlight[int] = SingleFlight()
    runs = 0
    gate = anyio.Event()
    results: list[int] = []

    async def work() -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        return 42

    async def caller() -> None:
        results.append(await flight.do("k", work))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(caller)
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        gate.set()
    assert runs == 1 and results == [42] * 10
    assert flight.shared == 9 and flight.in_flight() == 0


async def test_errors_are_shared_too() -> None:
    """Followers of a failing run get the same error; a later call runs again."""
    flight: SingleFlight[int] = SingleFlight()
    gate = anyio.Event()
    runs = 0
    errors: list[str] = []

    async def work() -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        raise ValueError("boom")

    async def caller() -> None:
        try:
            await flight.do("k", work)
        except ValueError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(caller)
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        gate.set()
    assert errors == ["boom"] * 3 and runs == 1


async def test_cancelled_runner_hands_over_to_a_waiting_caller() -> None:
    """If the caller doing the work is cancelled, a waiter runs it instead of hanging."""
    flight: SingleFlight[str] = SingleFlight()
    runs = 0
    first_started = anyio.Event()

    async def work() -> str:
        nonlocal runs
        runs += 1
        if runs == 1:
            first_started.set()
            await anyio.sleep_forever()
        return "second run"

    results: list[str] = []
    async with anyio.create_task_group() as tg:
        runner = anyio.CancelScope()

        async def first() -> None:
            with runner:
                await flight.do("k", work)

        async def second() -> None:
            results.append(await flight.do("k", work))

        tg.start_soon(first)
        await first_started.wait()
        tg.start_soon(second)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        runner.cancel()
    assert results == ["second run"] and runs == 2 and flight.in_flight() == 0
