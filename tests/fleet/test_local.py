"""LocalState: values, leases and admission for one process (also the Redis fallback)."""

from __future__ import annotations

import math

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from autodocs_core.fleet import Admission, FleetConfig, Lease, LocalState, SharedState
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio


def make(clock: FakeClock, **config: object) -> LocalState:
    return LocalState(FleetConfig(**config), clock=clock)  # type: ignore[arg-type]


class TestValues:
    async def test_put_get_expire(self, clock: FakeClock) -> None:
        """A value is served until its TTL passes, then gone."""
        state = make(clock)
        assert isinstance(state, SharedState)
        assert await state.put("k", b"v", 10.0)
        assert await state.get("k") == b"v"
        clock.advance(10.0)
        assert await state.get("k") is None

    async def test_too_large_is_refused_and_counted(self, clock: FakeClock) -> None:
        """A value over max_value_bytes is not stored, and the refusal is counted."""
        state = make(clock, max_value_bytes=4)
        assert not await state.put("k", b"12345", 10.0)
        assert await state.get("k") is None
        assert state.statistics().fallbacks == {"too_large": 1}

    async def test_bounded_by_entries_and_bytes(self, clock: FakeClock) -> None:
        """The oldest values go first when the entry or byte bound is reached."""
        state = LocalState(clock=clock, max_entries=3, max_bytes=10)
        for i in range(5):
            await state.put(f"k{i}", b"x", 60.0)
        assert [await state.get(f"k{i}") for i in range(5)] == [None, None, b"x", b"x", b"x"]
        await state.put("big", b"y" * 9, 60.0)
        got = [await state.get(k) for k in ("k2", "k3", "k4", "big")]
        assert got == [None, None, b"x", b"y" * 9]  # 9 + 1 bytes fit in 10

    async def test_zero_ttl_deletes(self, clock: FakeClock) -> None:
        """A put with ttl 0 removes the value."""
        state = make(clock)
        await state.put("k", b"v", 10.0)
        await state.put("k", b"w", 0.0)
        assert await state.get("k") is None


class TestLeases:
    async def test_one_holder_until_release_or_expiry(self, clock: FakeClock) -> None:
        """A second acquire fails while held; release (by the holder only) or expiry frees it."""
        state = make(clock)
        a = await state.acquire_lease("k", 5.0)
        assert a is not None and not a.shared
        assert await state.acquire_lease("k", 5.0) is None
        assert not await state.release(Lease("k", "forged", 5.0))
        assert await state.release(a)
        b = await state.acquire_lease("k", 5.0)
        assert b is not None
        clock.advance(5.0)
        assert not await state.extend(b, 5.0)
        c = await state.acquire_lease("k", 5.0)
        assert c is not None and c.token != b.token
        assert not await state.release(b)

    async def test_extend_keeps_it(self, clock: FakeClock) -> None:
        """Extending before expiry keeps the lease past its first TTL."""
        state = make(clock)
        a = await state.acquire_lease("k", 5.0)
        assert a is not None
        clock.advance(4.0)
        assert await state.extend(a, 5.0)
        clock.advance(4.0)
        assert await state.acquire_lease("k", 5.0) is None

    def test_lease_table_is_bounded(self) -> None:
        """Beyond max_leases, expired leases are purged, then the one expiring first dropped."""
        state = LocalState(max_leases=2)
        assert state.acquire_lease_now("a", 1.0, 0.0) is not None
        assert state.acquire_lease_now("b", 9.0, 0.0) is not None
        assert state.acquire_lease_now("c", 9.0, 0.5) is not None
        assert state.lease_holder("a", 0.5) is None
        assert state.lease_holder("b", 0.5) is not None


class TestAdmission:
    async def test_rate_limit_gcra(self, clock: FakeClock) -> None:
        """A burst passes at once, then one attempt per interval; retry_after says when."""
        state = make(clock, rate=10.0, burst=3)
        assert [(await state.admit("h")).allowed for _ in range(4)] == [True, True, True, False]
        denied = await state.admit("h")
        assert denied.reason == "rate_limited"
        assert denied.retry_after == pytest.approx(0.1)
        clock.advance(0.1)
        assert (await state.admit("h")).allowed
        assert (await state.admit("other")).allowed  # one cell per upstream

    async def test_open_until_then_one_probe(self, clock: FakeClock) -> None:
        """A published open-until refuses everyone; then exactly one probe; success closes."""
        state = make(clock, recovery_time=10.0)
        await state.report("h", "failure", open_for=5.0)
        refused = await state.admit("h")
        assert (refused.allowed, refused.reason) == (False, "breaker_open")
        assert refused.retry_after == pytest.approx(5.0)
        clock.advance(5.0)
        probe = await state.admit("h")
        assert probe.allowed and probe.probe and probe.token
        assert not (await state.admit("h")).allowed  # only one probe
        await state.report("h", "success", admission=probe)
        assert all([(await state.admit("h")).allowed for _ in range(5)])

    async def test_failed_probe_reopens(self, clock: FakeClock) -> None:
        """A failed probe re-opens for recovery_time; an ignored one frees the probe slot."""
        state = make(clock, recovery_time=10.0)
        await state.report("h", "failure", open_for=1.0)
        clock.advance(1.0)
        probe = await state.admit("h")
        await state.report("h", "ignore", admission=probe)
        probe = await state.admit("h")
        assert probe.probe
        await state.report("h", "failure", admission=probe)
        clock.advance(9.9)
        assert not (await state.admit("h")).allowed
        clock.advance(0.1)
        assert (await state.admit("h")).probe

    async def test_an_unreported_probe_expires_after_one_period(self, clock: FakeClock) -> None:
        """A probe that never reports blocks the next one for recovery_time only."""
        state = make(clock, recovery_time=10.0)
        await state.report("h", "failure", open_for=1.0)
        clock.advance(1.0)
        assert (await state.admit("h")).probe
        clock.advance(9.0)
        assert not (await state.admit("h")).allowed
        clock.advance(1.0)
        assert (await state.admit("h")).probe

    async def test_retry_budget(self, clock: FakeClock) -> None:
        """Retries draw from a shared budget that first attempts and time refill."""
        state = make(clock, retry_cap=2.0, retry_ratio=0.5, retry_per_second=0.0)
        assert (await state.admit("h", retry=True)).allowed
        assert (await state.admit("h", retry=True)).allowed
        spent = await state.admit("h", retry=True)
        assert (spent.allowed, spent.reason) == (False, "retry_budget")
        await state.admit("h")
        await state.admit("h")
        assert (await state.admit("h", retry=True)).allowed

    async def test_explicit_now_overrides_the_clock(self, clock: FakeClock) -> None:
        """admit(now=...) decides at that time."""
        state = make(clock, rate=1.0, burst=1)
        assert (await state.admit("h", now=100.0)).allowed
        assert not (await state.admit("h", now=100.5)).allowed
        assert (await state.admit("h", now=101.0)).allowed

    def test_upstreams_are_bounded(self) -> None:
        """Only max_upstreams admission cells are kept (the least recently used go)."""
        state = LocalState(FleetConfig(rate=1.0, burst=1), max_upstreams=2)
        for name in ("a", "b", "c"):
            state.admit_now(name, retry=False, now=0.0)
        assert state.admit_now("a", retry=False, now=0.0).allowed  # "a" was forgotten


RECOVERY = 4.0


class FleetModel(RuleBasedStateMachine):
    """LocalState admission and leases against their invariants, on random schedules."""

    leases = Bundle("leases")

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.state = LocalState(FleetConfig(rate=5.0, burst=3, recovery_time=RECOVERY))
        self.admitted: list[float] = []
        self.last_probe: float | None = None
        self.probe: Admission | None = None
        self.freed = False  # the last probe reported success or ignore
        self.live: dict[str, tuple[str, float]] = {}  # model: key -> (token, expires)

    @initialize(start=st.floats(0, 1000))
    def start(self, start: float) -> None:
        self.now = start

    @rule(dt=st.floats(0, 2.0))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule()
    def admit(self) -> None:
        a = self.state.admit_now("h", retry=False, now=self.now)
        if a.allowed:
            self.admitted.append(self.now)
        if a.probe:
            if self.last_probe is not None and not self.freed:
                assert self.now - self.last_probe >= RECOVERY - 1e-9, "two probes in one period"
            self.last_probe, self.probe, self.freed = self.now, a, False

    @rule(open_for=st.floats(0.1, 5.0))
    def open_breaker(self, open_for: float) -> None:
        self.state.report_now("h", "failure", admission=None, open_for=open_for, now=self.now)

    @precondition(lambda self: self.probe is not None)
    @rule(outcome=st.sampled_from(["success", "failure", "ignore"]))
    def report_probe(self, outcome: str) -> None:
        assert self.probe is not None
        self.state.report_now("h", outcome, admission=self.probe, open_for=None, now=self.now)  # type: ignore[arg-type]
        self.freed = outcome != "failure"
        if outcome == "failure":
            self.last_probe = self.now  # re-opened: the next period starts now
        self.probe = None

    def _held(self, key: str) -> tuple[str, float] | None:
        entry = self.live.get(key)
        return entry if entry is not None and entry[1] > self.now else None

    @rule(target=leases, key=st.sampled_from(["a", "b"]), ttl=st.floats(0.1, 3.0))
    def acquire(self, key: str, ttl: float) -> Lease | None:
        lease = self.state.acquire_lease_now(key, ttl, self.now)
        held = self._held(key)
        assert (lease is None) == (held is not None), "a second holder, or a free lease refused"
        if lease is not None:
            self.live[key] = (lease.token, self.now + ttl)
        return lease

    @rule(lease=consumes(leases))
    def release(self, lease: Lease | None) -> None:
        if lease is None:
            return
        held = self._held(lease.key)
        mine = held is not None and held[0] == lease.token
        assert self.state.release_now(lease, self.now) == mine
        if mine:
            del self.live[lease.key]

    @rule(lease=leases, ttl=st.floats(0.1, 3.0))
    def extend(self, lease: Lease | None, ttl: float) -> None:
        if lease is None:
            return
        held = self._held(lease.key)
        mine = held is not None and held[0] == lease.token
        assert self.state.extend_now(lease, ttl, self.now) == mine
        if mine:
            self.live[lease.key] = (lease.token, self.now + ttl)

    @invariant()
    def gcra_never_exceeds_rate_times_t_plus_burst(self) -> None:
        # Over any window [t_i, t_last] of admissions: count ≤ rate × (t_last − t_i) + burst.
        times = self.admitted
        for i in range(len(times)):
            assert len(times) - i <= 5.0 * (times[-1] - times[i]) + 3 + 1e-6

    @invariant()
    def one_holder_per_key(self) -> None:
        for key in ("a", "b"):
            held = self._held(key)
            assert self.state.lease_holder(key, self.now) == (held[0] if held else None)


TestFleetModel = FleetModel.TestCase


@pytest.mark.parametrize("ttl", [-1.0, math.nan, math.inf])
async def test_bad_ttls_are_refused(clock: FakeClock, ttl: float) -> None:
    """NaN, infinite or negative TTLs are a ValueError, not a silent forever or never."""
    state = make(clock)
    with pytest.raises(ValueError):
        await state.put("k", b"v", ttl)
    with pytest.raises(ValueError):
        await state.acquire_lease("k", ttl)
    with pytest.raises(ValueError):
        await state.acquire_lease("k", 0.0)


def test_an_idle_cell_with_burst_one_admits_despite_rounding() -> None:
    """burst=1: at any time at or after the cell's TAT, the attempt is admitted.

    Floating-point noise made excess = (now + interval) - now - interval slightly positive
    (4.4e-16 at t = 4.9 s), which refused attempts forever with a zero wait.
    """
    from autodocs_core.fleet import FleetConfig, LocalState

    state = LocalState(FleetConfig(rate=10.0, burst=1))
    now = 0.0
    for _ in range(2000):
        assert state.admit_now("h", retry=False, now=now).allowed, now
        now += 0.1 + 0.001  # just after the next slot, accumulating float error
