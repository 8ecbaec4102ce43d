"""The package-index client: JSON API, per-version fallback, resilience per host, single flight.

Every request goes through a per-host :class:`~autodocs_core.resilience.CircuitBreaker`,
:class:`~autodocs_core.resilience.RetryBudget` and the error-type retry policy, under a total
deadline shared by all the requests of one lookup. Concurrent identical requests share one
upstream request; a 404 is remembered briefly (negative cache) and never retried.

With a :class:`~autodocs_core.fleet.SharedState` (scale-out), each upstream attempt also asks the
fleet first (:meth:`SharedState.admit`: the fleet-wide rate limit, the shared breaker decision and
the shared retry budget) and reports what it learned; failure detection stays local.
"""

from __future__ import annotations

import hashlib
import random
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import attrs
import httpx
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import (
    AutodocsError,
    BreakerOutcome,
    CircuitOpenError,
    ConfigError,
    DeadlineExceeded,
    MalformedResponse,
    NotFoundError,
    PackageNotFoundError,
    RetryBudgetExhausted,
    UpstreamTimeout,
    redact_url,
)
from ..fleet import Admission, SharedState
from ..http import (
    ROUTE_METADATA,
    ROUTE_PROJECT,
    ROUTE_SIMPLE,
    Body,
    HttpClient,
    RangeBody,
    origin_of,
    split_userinfo,
)
from ..resilience import (
    DEFAULT_POLICY,
    SYSTEM_CLOCK,
    BreakerConfig,
    CircuitBreaker,
    Clock,
    Deadline,
    HedgePolicy,
    HedgeStatistics,
    Hooks,
    LatencySamples,
    Registry,
    Resilience,
    RetryBudget,
    RetryPolicy,
    SingleFlight,
)
from ._models import PackageMetadata, ProjectIndex, Resolution
from ._names import normalize_name
from ._parse import metadata_from_core, metadata_from_info, project_from_json, simple_files
from ._versions import resolve_version

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_INDEX_URL",
    "IndexClient",
    "IndexConfig",
    "MetadataFallback",
    "SimplePage",
    "normalize_index_url",
]

DEFAULT_INDEX_URL = "https://pypi.org"
DEFAULT_DEADLINE = 15.0
"""Seconds allowed for one lookup, retries included (the one default: ``AUTODOCS_DEADLINE``).

.. versionadded:: 0.2.0
"""
"""The public Python Package Index."""

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def normalize_index_url(url: str) -> str:
    """Validate an index base URL and return it without credentials or a trailing slash.

    Raises:
        ConfigError: When it is not an absolute http(s) URL.
    """
    clean, _, _ = split_userinfo(url.strip())
    parts = urllib.parse.urlsplit(clean)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"AUTODOCS_INDEX_URL={redact_url(url)!r} is not an absolute http(s) URL",
            details={"setting": "AUTODOCS_INDEX_URL", "value": redact_url(url)},
            suggestions=(f"Use a base URL such as '{DEFAULT_INDEX_URL}'.",),
        )
    path = parts.path.rstrip("/")
    for suffix in ("/simple", "/pypi"):
        path = path.removesuffix(suffix)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@attrs.frozen
class IndexConfig:
    """How the index client talks to its index.

    Args:
        url: Base URL of the index (``AUTODOCS_INDEX_URL``).
        deadline: Total seconds for one lookup, all requests, retries and waits included.
        policy: Retry policy by error type.
        breaker: Breaker settings, one breaker per host.
        budget_ratio: Retries allowed per request, per host (see :class:`RetryBudget`).
        budget_floor: Retries per second always allowed, per host.
        negative_ttl: Seconds a 404 is remembered.
        negative_cache_size: Most 404s remembered.
        hedge: When an unanswered GET gets a concurrent twin (``None``: never). Hedges are
            requests: each takes a retry-budget token and a breaker permit.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``hedge`` (on by default).
    """

    url: str = attrs.field(default=DEFAULT_INDEX_URL, converter=normalize_index_url)
    deadline: float = DEFAULT_DEADLINE
    policy: RetryPolicy = DEFAULT_POLICY
    breaker: BreakerConfig = attrs.field(factory=BreakerConfig)
    budget_ratio: float = 1.0
    budget_floor: float = 10.0
    negative_ttl: float = 60.0
    negative_cache_size: int = 1024
    hedge: HedgePolicy | None = attrs.field(factory=HedgePolicy)


@attrs.frozen
class SimplePage:
    """A project's file list from the simple repository API (PEP 691, JSON form).

    Attributes:
        url: The page's URL (file URLs are relative to it), credentials redacted.
        files: The file entries (``filename``, ``url``, ``hashes``, ``size``, ``yanked``, ...).

    .. versionadded:: 0.2.0
    """

    url: str
    files: tuple[Mapping[str, Any], ...]


MetadataFallback = Callable[[str, str, SimplePage, Deadline], Awaitable[str | None]]
"""``(name, version, page, deadline) -> METADATA text or None``: reads a release's core metadata
from its artifact when neither per-version JSON nor a PEP 658 file is published."""


class IndexClient:
    """Reads project and version metadata from a package index.

    Args:
        http: The shared, open :class:`~autodocs_core.http.HttpClient`.
        config: Index URL and resilience settings.
        clock: Time source.
        rng: Randomness for jitter.
        hooks: Resilience events (retries, give-ups, breaker transitions).
        metadata_fallback: Reads ``METADATA`` from a release's artifact when the index
            publishes neither per-version JSON nor PEP 658 metadata for it.
        shared: The fleet's shared state, or ``None`` (default: this process decides alone,
            at no extra cost). With it, every upstream attempt (retries and hedges included)
            first calls :meth:`~autodocs_core.fleet.SharedState.admit` for its host: a refusal
            because the fleet's breaker is open raises :class:`CircuitOpenError`, a spent
            shared retry budget :class:`RetryBudgetExhausted`, and the fleet rate limit waits
            (on the clock) while the wait fits in the deadline, else
            :class:`DeadlineExceeded`. When this process's own breaker opens, the fleet is
            told (``report(..., open_for=...)``); a probe's outcome is reported too.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``shared``.
    """

    def __init__(
        self,
        http: HttpClient,
        config: IndexConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        hooks: Hooks | None = None,
        metadata_fallback: MetadataFallback | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.http = http
        self.shared = shared
        self._published: OrderedDict[str, int] = OrderedDict()  # host -> times_opened told
        self._rate_gates: OrderedDict[str, anyio.Lock] = OrderedDict()  # host -> one asker
        self.admission_refusals = 0  # attempts the fleet refused or delayed past the deadline
        self.metadata_fallback = metadata_fallback
        self.config = config = config or IndexConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.hooks = hooks
        self.breakers: Registry[CircuitBreaker] = Registry(
            lambda host: CircuitBreaker(
                host, config.breaker, clock=clock, rng=self.rng, hooks=hooks
            )
        )
        self.budgets: Registry[RetryBudget] = Registry(
            lambda host: RetryBudget(
                ratio=config.budget_ratio, min_per_second=config.budget_floor, clock=clock
            )
        )
        self._flight: SingleFlight[Any] = SingleFlight()
        self._missing: OrderedDict[str, float] = OrderedDict()
        self.latencies: Registry[LatencySamples] = Registry(lambda key: LatencySamples())
        self.requests = 0  # upstream GETs attempted (after single flight), hedges included
        self.hedges_sent = 0
        self.hedges_won = 0

    def hedge_statistics(self) -> HedgeStatistics:
        """Return how many hedged requests were sent and how many answered first.

        .. versionadded:: 0.2.0
        """
        return HedgeStatistics(sent=self.hedges_sent, won=self.hedges_won)

    # -- URLs -------------------------------------------------------------------------------

    def project_url(self, name: str) -> str:
        """Return the JSON API URL of a (normalised) project name."""
        return f"{self.config.url}/pypi/{urllib.parse.quote(name, safe='')}/json"

    def version_url(self, name: str, version: str) -> str:
        """Return the per-version JSON API URL."""
        q = urllib.parse.quote
        return f"{self.config.url}/pypi/{q(name, safe='')}/{q(version, safe='')}/json"

    def simple_url(self, name: str) -> str:
        """Return the simple API (PEP 691) project page URL."""
        return f"{self.config.url}/simple/{urllib.parse.quote(name, safe='')}/"

    # -- requests ---------------------------------------------------------------------------

    def breaker_for(self, url: str) -> CircuitBreaker:
        """Return the breaker of *url*'s host."""
        return self.breakers.get(_host_key(url))

    async def _get(
        self,
        url: str,
        accept: tuple[str, ...],
        deadline: Deadline,
        policy: RetryPolicy | None = None,
        *,
        route: str,
    ) -> Body:
        """GET *url* under the host's breaker, budget and policy; shared by identical calls.

        A retry after a header timeout gives the headers at least twice the time that expired
        on the call's first timed-out attempt: the shared estimate of the route is brought
        back down by every fast answer of other resources, so without this floor one slow
        resource among fast ones would time out on every attempt. The floor does not compound
        (a hanging attempt is far more common than one needing 4× the estimate, and the shared
        estimate doubles on its own when the whole route is slow).
        """
        expiry = self._missing.get(url)
        if expiry is not None:
            if self.clock.now() < expiry:
                raise NotFoundError(
                    "The index has no such resource (HTTP 404, remembered)",
                    details={"url": redact_url(url), "cached": True},
                )
            del self._missing[url]
        host = _host_key(url)
        breaker = self.breakers.get(host)
        budget = self.budgets.get(host)
        samples = self.latencies.get(f"{host} {route}")
        hedge = self.config.hedge
        guard = Resilience(
            name=f"GET {host}",
            policy=policy or self.config.policy,
            breaker=breaker,
            budget=budget,
            clock=self.clock,
            rng=self.rng,
            hooks=self.hooks,
        )

        decode = any(a.endswith("json") for a in accept)
        floor = 0.0
        shared = self.shared
        attempts = 0

        async def fetch(on_sent: Callable[[], object] | None) -> Body:
            nonlocal floor
            self.requests += 1
            started = self.clock.now()
            try:
                body = await self.http.get(
                    url, accept=accept, route=route, min_header_timeout=floor, on_sent=on_sent
                )
            except UpstreamTimeout as exc:
                expired = exc.details.get("timeout_seconds")
                if not floor and exc.details.get("phase") == "headers" and expired:
                    floor = 2.0 * float(expired)
                raise
            if decode:
                # Inside the attempt: a truncated or garbled answer is a failed attempt, retried
                # under the policy for MalformedResponse (the soak found it was not).
                body.json()
            header = body.header_seconds
            samples.add(header if header is not None else self.clock.now() - started)
            return body

        async def one(on_sent: Callable[[], object] | None = None) -> Body:
            nonlocal attempts
            if shared is None:
                return await fetch(on_sent)
            attempts += 1
            return await self._admitted(
                shared, host, breaker, attempts, deadline, lambda: fetch(on_sent)
            )

        async def attempt() -> Body:
            if hedge is None:
                return await one()
            return await self._hedged(one, hedge, samples, breaker, budget)

        async def guarded() -> Body:
            try:
                return await guard.run(attempt, deadline=deadline)
            except NotFoundError:
                self._remember_missing(url)
                raise
            except (CircuitOpenError, DeadlineExceeded, RetryBudgetExhausted) as exc:
                _word_for_the_index(exc)
                raise
            finally:
                if shared is not None:
                    with anyio.CancelScope(shield=True):  # bounded by the shared layer's budget
                        await self._publish_open(shared, host, breaker)

        result: Body = await self._flight.do((url, accept, policy is None), guarded)
        return result

    async def fetch_range(
        self,
        url: str,
        *,
        start: int | None,
        end: int | None,
        max_bytes: int,
        deadline: Deadline,
    ) -> RangeBody:
        """Read bytes of a release file under its host's breaker, budget and retry policy.

        Identical concurrent reads (same URL and range) share one request.

        Args:
            url: The file's URL (any host: file hosts are often not the index's).
            start: First byte, or ``None`` with *end* for a suffix of *end* bytes (or the
                whole file when both are ``None``).
            end: Last byte (inclusive), or the suffix length.
            max_bytes: Cap on the bytes accepted.
            deadline: The lookup's shared deadline.
        """
        host = _host_key(url)
        breaker = self.breakers.get(host)
        guard = Resilience(
            name=f"GET {host}",
            policy=self.config.policy,
            breaker=breaker,
            budget=self.budgets.get(host),
            clock=self.clock,
            rng=self.rng,
            hooks=self.hooks,
        )
        shared = self.shared
        attempts = 0

        async def send() -> RangeBody:
            self.requests += 1
            return await self.http.get_range(url, start=start, end=end, max_bytes=max_bytes)

        async def attempt() -> RangeBody:
            nonlocal attempts
            attempts += 1
            if shared is None:
                return await send()
            return await self._admitted(shared, host, breaker, attempts, deadline, send)

        async def guarded() -> RangeBody:
            if shared is None:
                return await guard.run(attempt, deadline=deadline)
            try:
                return await guard.run(attempt, deadline=deadline)
            finally:
                with anyio.CancelScope(shield=True):  # bounded by the shared layer's budget
                    await self._publish_open(shared, host, breaker)

        result: RangeBody = await self._flight.do(("range", url, start, end), guarded)
        return result

    async def get_files(self, name: str, *, deadline: Deadline | None = None) -> SimplePage:
        """Return the file list of *name* from the simple API (PEP 691).

        Raises:
            PackageNotFoundError: The index has no such project.
        """
        normal = normalize_name(name)
        try:
            page = await self._get(
                self.simple_url(normal),
                (SIMPLE_JSON,),
                self._deadline(deadline),
                route=ROUTE_SIMPLE,
            )
        except NotFoundError as exc:
            raise PackageNotFoundError(normal, index_url=self.config.url) from exc
        return SimplePage(page.url, tuple(simple_files(page.json(), url=page.url)))

    async def _hedged(
        self,
        one: Callable[[Callable[[], object] | None], Awaitable[Body]],
        policy: HedgePolicy,
        samples: LatencySamples,
        breaker: CircuitBreaker,
        budget: RetryBudget,
    ) -> Body:
        """Run one attempt; if it has not answered after the hedge delay, race a twin.

        The delay runs from when the first request is on the wire, not from when it started
        waiting for a pooled connection: hedging a queued request only queues another. The
        first answer wins and the other request is cancelled: httpcore closes a connection
        whose exchange was interrupted, so it is never reused. When every request fails, the
        first request's error is raised (the retry policy takes it from there). The hedge
        holds its own breaker permit and a retry-budget token.
        """
        race = _Race()
        delay = policy.delay(samples)

        async def run(index: int, permit: int | None) -> None:
            try:
                body = await one(race.mark_sent if index == 0 else None)
            except BaseException as exc:
                if permit is not None:
                    breaker.release(permit, exc)
                if not isinstance(exc, Exception):
                    raise  # cancellation (the loser), KeyboardInterrupt, ...
                race.errors[index] = exc
                race.running -= 1
            else:
                if permit is not None:
                    breaker.release(permit)
                if race.result is None:
                    race.result = body
                    if index > 0:
                        self.hedges_won += 1
            race.wake()

        async with anyio.create_task_group() as tg:
            race.running = 1
            tg.start_soon(run, 0, None)
            while not race.sent and race.result is None and race.running:
                await race.wait()
            hedges = 0
            while race.result is None and race.running:
                if (
                    0 in race.errors  # the first request is over: no more hedges
                    or race.running - 1 >= policy.max_in_flight
                    or hedges >= policy.max_per_attempt
                ):
                    await race.wait()
                    continue
                if hedges == 0:
                    with self.clock.timeout_scope(delay) as scope:
                        await race.wait()
                    if not scope.cancelled_caught:
                        continue  # something changed before the delay: look again
                # Send a hedge: the first one after the delay; another at once if a hedge
                # failed while the first request (given a longer timeout) still waits.
                permit = _hedge_permit(breaker, budget)
                if permit is None:
                    hedges = policy.max_per_attempt  # no budget or breaker permit: stop
                    continue
                hedges += 1
                self.hedges_sent += 1
                race.running += 1
                tg.start_soon(run, hedges, permit)
            tg.cancel_scope.cancel()
        if race.result is not None:
            return race.result
        raise min(race.errors.items())[1]

    # -- the fleet ----------------------------------------------------------------------------

    async def _admitted(
        self,
        shared: SharedState,
        host: str,
        breaker: CircuitBreaker,
        attempt: int,
        deadline: Deadline,
        send: Callable[[], Awaitable[_T]],
    ) -> _T:
        """Send one upstream attempt once the fleet admits it, and report how it went."""
        admission = await self._admit(shared, host, breaker, attempt, deadline)
        try:
            result = await send()
        except BaseException as exc:
            await _report(shared, host, admission, exc)
            raise
        await _report(shared, host, admission, None)
        return result

    async def _admit(
        self,
        shared: SharedState,
        host: str,
        breaker: CircuitBreaker,
        attempt: int,
        deadline: Deadline,
    ) -> Admission:
        """Ask the fleet whether attempt number *attempt* toward *host* may go out now.

        Publishes first whatever this process's breaker learnt since the last attempt (it
        counts after the attempt returns, so the next attempt or the end of the call is the
        first moment it can be told). The fleet rate limit is waited out on the clock while
        the wait fits in *deadline*; the other refusals raise at once.

        Rate-limited attempts of one process wait their turn in line (first come, first
        served), and only the first in line asks again: N waiters would otherwise all wake at
        the same instant for the one slot, and each slot would cost N admissions.
        """
        await self._publish_open(shared, host, breaker)
        retry = attempt > 1
        admission = await shared.admit(host, retry=retry)
        if admission.allowed:
            return admission
        self.admission_refusals += 1
        if admission.reason == "rate_limited":
            gate = self._rate_gate(host)
            with self.clock.timeout_scope(deadline.remaining()) as scope:
                async with gate:
                    admission = await self._wait_turn(shared, host, retry, admission, deadline)
            if scope.cancelled_caught:
                admission = Admission(False, "rate_limited")  # the deadline passed in line
            if admission.allowed:
                return admission
        if admission.reason == "breaker_open":
            raise CircuitOpenError(host, retry_after=admission.retry_after)
        if admission.reason == "retry_budget":
            raise RetryBudgetExhausted(host, attempts=attempt - 1)
        raise DeadlineExceeded(
            f"GET {host} (fleet rate limit)", deadline=deadline.total, attempts=attempt - 1
        )

    async def _wait_turn(
        self,
        shared: SharedState,
        host: str,
        retry: bool,
        admission: Admission,
        deadline: Deadline,
    ) -> Admission:
        """Sleep until the rate limit's next slot and ask again, while the deadline allows."""
        for _ in range(_MAX_ADMISSION_WAITS):
            wait = max(admission.retry_after, _MIN_ADMISSION_WAIT)
            if self.clock.now() + wait >= deadline.at:
                break
            await self.clock.sleep(wait)
            admission = await shared.admit(host, retry=retry)
            if admission.allowed or admission.reason != "rate_limited":
                return admission
            self.admission_refusals += 1
        return Admission(False, "rate_limited", retry_after=admission.retry_after)

    def _rate_gate(self, host: str) -> anyio.Lock:
        gate = self._rate_gates.get(host)
        if gate is None:
            gate = self._rate_gates[host] = anyio.Lock()
            while len(self._rate_gates) > _MAX_PUBLISHED:
                self._rate_gates.popitem(last=False)
        return gate

    async def _publish_open(self, shared: SharedState, host: str, breaker: CircuitBreaker) -> None:
        """Tell the fleet once per opening when this process's breaker for *host* opened."""
        stats = breaker.statistics()
        if stats.times_opened <= self._published.get(host, 0):
            return
        self._published[host] = stats.times_opened
        self._published.move_to_end(host)
        while len(self._published) > _MAX_PUBLISHED:
            self._published.popitem(last=False)
        if stats.open_until is None:
            return  # already half-open again: nothing left to publish
        open_for = stats.open_until - self.clock.now()
        if open_for > 0:
            await shared.report(host, "failure", open_for=open_for)

    def _remember_missing(self, url: str) -> None:
        self._missing[url] = self.clock.now() + self.config.negative_ttl
        self._missing.move_to_end(url)
        while len(self._missing) > self.config.negative_cache_size:
            self._missing.popitem(last=False)

    def _deadline(self, deadline: Deadline | None) -> Deadline:
        return (
            deadline if deadline is not None else Deadline.after(self.config.deadline, self.clock)
        )

    # -- API --------------------------------------------------------------------------------

    async def get_project(
        self, name: str, *, deadline: Deadline | None = None, policy: RetryPolicy | None = None
    ) -> ProjectIndex:
        """Return the release list and latest metadata of *name*.

        Args:
            name: The package name.
            deadline: Shared deadline (default: the configured one from now).
            policy: Retry policy for this lookup (default: the configured one); a caller with
                a stale copy to fall back on passes a stricter one.

        Raises:
            InvalidInputError: When the name is not a valid package name (before any I/O).
            PackageNotFoundError: When the index has no such project.
        """
        normal = normalize_name(name)
        url = self.project_url(normal)
        try:
            body = await self._get(
                url, ("application/json",), self._deadline(deadline), policy, route=ROUTE_PROJECT
            )
        except NotFoundError as exc:
            raise PackageNotFoundError(normal, index_url=self.config.url) from exc
        return project_from_json(normal, body.json(), url=body.url)

    async def get_release(
        self, project: ProjectIndex, version: str, *, deadline: Deadline | None = None
    ) -> PackageMetadata:
        """Return the metadata of *version* of *project*.

        The latest version comes with the project document. Others come from the per-version
        JSON API, or, where that answers 404 (mirrors often do), from the simple API (PEP 691)
        and the core-metadata file published beside a wheel (PEP 658/714).
        """
        wanted = _version_key(version)  # PEP 440: 2024.07.04 is 2024.7.4
        if version == project.latest.version or wanted == _version_key(project.latest.version):
            return project.latest
        deadline = self._deadline(deadline)
        release = next((r for r in project.releases if _version_key(r.version) == wanted), None)
        try:
            body = await self._get(
                self.version_url(project.name, version),
                ("application/json",),
                deadline,
                route=ROUTE_PROJECT,
            )
        except NotFoundError:
            return await self._release_from_simple(
                project.name,
                version,
                deadline,
                yanked_reason=release.yanked_reason if release is not None else None,
            )
        doc = body.json()
        info = doc.get("info") if isinstance(doc, Mapping) else None
        meta = metadata_from_info(project.name, info, source="version-json", url=body.url)
        if release is not None and release.yanked and not meta.yanked:
            meta = attrs.evolve(meta, yanked=True, yanked_reason=release.yanked_reason)
        return meta

    async def resolve(
        self, name: str, constraint: str | None = None, *, deadline: Deadline | None = None
    ) -> tuple[PackageMetadata, Resolution]:
        """Resolve *constraint* for *name* and return that version's metadata.

        Raises:
            InvalidInputError: A malformed name or constraint (before any I/O for the name).
            PackageNotFoundError: No such project.
            VersionNotFoundError: Nothing matches; the error lists the nearest versions.
        """
        deadline = self._deadline(deadline)
        project = await self.get_project(name, deadline=deadline)
        resolution = resolve_version(project.name, project.releases, constraint)
        meta = await self.get_release(project, resolution.version, deadline=deadline)
        if resolution.yanked and not meta.yanked:
            meta = attrs.evolve(meta, yanked=True, yanked_reason=resolution.yanked_reason)
        return meta, resolution

    async def _release_from_simple(
        self, name: str, version: str, deadline: Deadline, *, yanked_reason: str | None
    ) -> PackageMetadata:
        page = await self.get_files(name, deadline=deadline)
        files = page.files
        wanted = _version_key(version)
        candidates = [f for f in files if _file_version(f["filename"], name) == wanted]
        wheels = [f for f in candidates if f["filename"].endswith(".whl")]
        # Prefer wheels that advertise their metadata (PEP 714 'core-metadata', or PEP 658's
        # older key); try the others too, since mirrors often drop the key but serve the file.
        wheels.sort(key=lambda f: not (f.get("core-metadata") or f.get("data-dist-info-metadata")))
        for entry in wheels[:3]:
            meta_url = str(httpx.URL(page.url).join(entry["url"])) + ".metadata"
            try:
                body = await self._get(meta_url, ("*/*",), deadline, route=ROUTE_METADATA)
            except NotFoundError:
                continue
            _check_hash(entry, body)
            yanked = entry.get("yanked")
            return metadata_from_core(
                name,
                body.text(),
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) else yanked_reason,
                url=body.url,
            )
        if self.metadata_fallback is not None:
            # No PEP 658 file (some indexes answer 404 for whole releases): the wheel's own
            # METADATA, usually inside the one 64 KiB tail read of its central directory.
            text = await self.metadata_fallback(name, version, page, deadline)
            if text is not None:
                return metadata_from_core(
                    name,
                    text,
                    yanked=False,
                    yanked_reason=yanked_reason,
                    url=page.url,
                )
        raise NotFoundError(
            f"The index publishes no metadata for {name} {version}",
            details={"package_name": name, "version": version, "files_seen": len(candidates)},
            suggestions=(
                "This version has no wheel with a core-metadata file, and the index does not "
                "serve per-version JSON; ask for another version (the latest always works).",
            ),
        )


_T = TypeVar("_T")

_MAX_ADMISSION_WAITS = 1000
"""Rate-limit waits one attempt makes at most (each until its turn; the deadline ends it)."""
_MIN_ADMISSION_WAIT = 0.001
_MAX_PUBLISHED = 256


async def _report(
    shared: SharedState, host: str, admission: Admission, exc: BaseException | None
) -> None:
    """Report an admitted attempt's outcome, as the local breaker classifies it.

    A cancelled attempt (a hedge that lost, a caller gone) reports ``"ignore"``: that frees a
    probe's slot at once. The report is shielded from the cancellation: it is bounded by the
    shared layer's own budget.
    """
    if exc is None:
        outcome: BreakerOutcome = "success"
    elif isinstance(exc, AutodocsError):
        outcome = exc.breaker_outcome
    else:
        outcome = "ignore"
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        if not admission.probe:
            return
        with anyio.CancelScope(shield=True):
            await shared.report(host, "ignore", admission=admission)
        return
    await shared.report(host, outcome, admission=admission)


def _word_for_the_index(exc: AutodocsError) -> None:
    """Give the resilience layer's generic errors the index's wording (what MCP clients see).

    The primitives are generic (they guard any upstream); what to do about *this* upstream, the
    package index, is the index client's to say.
    """
    if isinstance(exc, CircuitOpenError):
        exc.suggestions = (
            f"The index '{exc.upstream}' failed repeatedly; calls resume after about "
            f"{exc.retry_after:.1f} s.",
            "Cached documentation is still served while the circuit is open.",
        )
        exc.recovery_actions = ("Call 'health_check' to watch the breaker state.",)
    elif isinstance(exc, DeadlineExceeded):
        exc.suggestions = (
            "The index is slow right now; try again, or allow more time (AUTODOCS_DEADLINE).",
        )
    elif isinstance(exc, RetryBudgetExhausted):
        exc.suggestions = (
            "The index is failing for many requests at once; retries are paused to protect "
            "it. Try again in a few seconds.",
        )
        exc.recovery_actions = ("Call 'health_check' to see the index status.",)


class _Race:
    """The shared state of one hedged attempt: the first answer and the failures."""

    __slots__ = ("_event", "errors", "result", "running", "sent")

    def __init__(self) -> None:
        self._event = anyio.Event()
        self.result: Body | None = None
        self.errors: dict[int, BaseException] = {}
        self.running = 0
        self.sent = False

    def mark_sent(self) -> None:
        self.sent = True
        self.wake()

    def wake(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = anyio.Event()


def _hedge_permit(breaker: CircuitBreaker, budget: RetryBudget) -> int | None:
    """Return a breaker permit for a hedge, with a budget token taken, or ``None``."""
    try:
        permit = breaker.acquire()
    except CircuitOpenError:
        return None
    if not budget.try_acquire_retry():
        breaker.release_unused(permit)
        return None
    return permit


def _host_key(url: str) -> str:
    scheme, host, port = origin_of(url)
    default = 443 if scheme == "https" else 80
    return host if port == default else f"{host}:{port}"


def _version_key(version: str) -> Version | str:
    try:
        return Version(version)
    except InvalidVersion:
        return version


def _file_version(filename: str, name: str) -> Version | str | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _check_hash(entry: Mapping[str, Any], body: Body) -> None:
    advertised = entry.get("core-metadata") or entry.get("data-dist-info-metadata")
    if isinstance(advertised, Mapping):
        expected = advertised.get("sha256")
        if isinstance(expected, str) and hashlib.sha256(body.data).hexdigest() != expected.lower():
            raise MalformedResponse(
                "The core-metadata file does not match its published sha256", url=body.url
            )
