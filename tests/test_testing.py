"""The public test helpers behave like a clock should."""

from __future__ import annotations

import math

import anyio
import pytest

from autodocs_core.testing import FakeClock, no_delay_policy, seeded_rng

pytestmark = pytest.mark.anyio


async def test_sleep_jumps_and_records(clock: FakeClock) -> None:
    """sleep() moves time at once and records the duration; negative sleeps count as zero."""
    await clock.sleep(2.5)
    await clock.sleep(-1)
    assert clock.now() == 2.5 and clock.sleeps == [2.5, 0.0]
    assert clock.wall() == 1_700_000_002.5


async def test_timeout_scope_cancels_a_hang_at_its_deadline(clock: FakeClock) -> None:
    """A hang inside a 3 s scope ends at exactly t=3 with the scope's cancellation caught."""
    with clock.timeout_scope(3.0) as scope:
        await clock.hang()
    assert scope.cancelled_caught and clock.now() == 3.0


async def test_sleep_shorter_than_the_scope_is_not_cancelled(clock: FakeClock) -> None:
    """A sleep that ends before the scope's deadline completes normally."""
    with clock.timeout_scope(3.0) as scope:
        await clock.sleep(1.0)
    assert not scope.cancelled_caught and clock.now() == 1.0


async def test_zero_timeout_cancels_immediately(clock: FakeClock) -> None:
    """A scope with no time left cancels at the first checkpoint."""
    with clock.timeout_scope(0.0) as scope:
        await clock.sleep(0.0)
    assert scope.cancelled_caught


async def test_hang_outside_a_scope_is_an_error(clock: FakeClock) -> None:
    """Hanging with nothing to end it would deadlock a test: it raises instead."""
    with pytest.raises(RuntimeError):
        await clock.hang()


async def test_other_tasks_scope_does_not_cut_our_sleep(clock: FakeClock) -> None:
    """Another task's scope deadline inside our sleep does not end our sleep early."""
    done: list[str] = []
    in_scope = anyio.Event()

    async def hanger() -> None:
        with clock.timeout_scope(1.0):
            in_scope.set()
            await anyio.sleep_forever()
        done.append("hanger")

    async with anyio.create_task_group() as tg:
        tg.start_soon(hanger)
        await in_scope.wait()
        await clock.sleep(5.0)
        done.append("sleeper")
    assert clock.now() == 5.0 and done == ["hanger", "sleeper"]


def test_advance_refuses_to_go_back() -> None:
    """Time never goes backwards."""
    with pytest.raises(ValueError):
        FakeClock().advance(-1)


def test_helpers() -> None:
    """seeded_rng is reproducible; no_delay_policy keeps attempts and drops delays."""
    assert seeded_rng(3).random() == seeded_rng(3).random()
    assert no_delay_policy().default.cap == 0.0
    assert not math.isnan(seeded_rng().random())


async def test_system_clock_is_monotonic_and_scopes_cancel() -> None:
    """The real clock: monotonic now, wall time near time.time(), a zero timeout cancels."""
    import time

    from autodocs_core.resilience import SYSTEM_CLOCK

    first = SYSTEM_CLOCK.now()
    await SYSTEM_CLOCK.sleep(0)
    assert SYSTEM_CLOCK.now() >= first
    assert abs(SYSTEM_CLOCK.wall() - time.time()) < 5
    with SYSTEM_CLOCK.timeout_scope(0) as scope:
        await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert repr(SYSTEM_CLOCK) == "SystemClock()"
