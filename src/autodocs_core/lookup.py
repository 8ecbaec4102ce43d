"""Cache-aside, stale-on-outage and offline: how a package version is found.

:class:`Lookup` turns "*name* at *constraint*" into the documentation of one exact version:

1. The name is normalised once, here (:meth:`Lookup.normalize`).
2. An exact pin whose documentation is cached is answered at once (no request).
3. Otherwise the version list comes from the cache while fresh, else from the index; when the
   index cannot be reached (outage, open breaker, deadline) a cached list is used and the answer
   is marked stale with its age. One lookup per package runs at a time (the one single flight):
   concurrent callers share the cache read and, on a miss, the fetch.
4. The resolved version's documentation comes from the cache, else from the index (then cached).
5. In offline mode nothing is fetched; a miss is a :class:`~autodocs_core.errors.CacheError`.

The API reference of a found version follows the same policy (:meth:`Lookup.api_index`).

With a fleet's shared state (``shared=``, see ``docs/scale-out.md``), a **shared tier** sits
between the local tiers and the index, and each upstream fetch (a version list, the
documentation of a version, an API reference) is coalesced across replicas: the local single
flight first, then a lease (:class:`~autodocs_core.fleet.Coalescer`). A local hit never asks the
shared tier; a shared hit is kept locally, so the next one costs no shared call either.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from .apiref import ApiIndex, ApiReader
from .cache import Cached, DocsCache
from .docs import PackageDocs
from .errors import (
    CacheError,
    CircuitOpenError,
    DeadlineExceeded,
    RetryBudgetExhausted,
    UpstreamError,
)
from .fleet import Coalescer, SharedState
from .pypi import (
    DEFAULT_DEADLINE,
    IndexClient,
    ProjectIndex,
    normalize_name,
    parse_constraint,
    resolve_version,
)
from .resilience import SYSTEM_CLOCK, Clock, Deadline, RetryPolicy, SingleFlight

__all__ = [
    "SHARED_DOCS_TTL",
    "SHARED_STALE_SECONDS",
    "STALE_REFRESH_SECONDS",
    "Found",
    "Lookup",
    "split_extras",
    "split_requirement",
]

STALE_REFRESH_SECONDS = 3.0
"""Time allowed to refresh an expired version list when a stale copy can be served instead."""

SHARED_DOCS_TTL = 30 * 86400.0
"""Seconds the documentation or API reference of an exact version stays in the shared tier.

They never change; the TTL only lets entries nobody asks for leave a server without an
eviction policy. Each replica keeps its own copy without expiry once read.
"""

SHARED_STALE_SECONDS = 7 * 86400.0
"""Seconds a version list stays in the shared tier (its stale window).

It is served as fresh while younger than the cache's ``versions_ttl``, and after that only as a
stale copy while the index cannot be reached.
"""

# Failures that mean "the index cannot be reached right now" (serve a cached copy if any).
_UNREACHABLE = (UpstreamError, CircuitOpenError, DeadlineExceeded, RetryBudgetExhausted)


@attrs.frozen
class Found:
    """Documentation found for a request, and how.

    Attributes:
        docs: The documentation of the resolved version.
        from_cache: Whether no request was needed for the documentation itself.
        stale_age: Age in seconds of the version list when it was a stale copy (the index could
            not be reached), else ``None``.
        warnings: Notes for the caller.

    .. versionadded:: 0.2.0
    """

    docs: PackageDocs
    from_cache: bool
    stale_age: float | None
    warnings: tuple[str, ...]


def split_extras(name: str) -> tuple[str, tuple[str, ...]]:
    """Split ``name[extra,...]`` into the name and the extras asked for.

    The name is returned as given (it is validated when it is normalised); a name without a
    well-formed ``[...]`` suffix has no extras.

    .. versionadded:: 0.2.0
    """
    base = name.split("[", 1)[0]
    if "[" not in name or not name.rstrip().endswith("]"):
        return base, ()
    inner = name.split("[", 1)[1].rstrip()[:-1]
    return base, tuple(e.strip() for e in inner.split(",") if e.strip())


def split_requirement(requirement: str) -> tuple[str, str | None]:
    """Split a requirement string (``httpx>=0.27``) into the name and its constraint.

    ``httpx`` gives ``("httpx", None)``; extras and markers are left out. A string that is not a
    PEP 508 requirement comes back whole as the name (the lookup then reports the bad name, in
    the caller's own words).

    .. versionadded:: 0.2.0
    """
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return requirement, None
    return req.name, str(req.specifier) or None


def _exact_pin(constraint: str | None) -> str | None:
    spec = parse_constraint(constraint)
    if spec is None:
        return None
    specs = list(spec)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return specs[0].version
    return None


class _NotShared(Exception):
    """Carries a fetched value that must not be shared (a partial API reference) to its caller."""

    def __init__(self, value: Any, owner: object) -> None:
        super().__init__("not shared")
        self.value = value
        self.owner = owner


def _offline_miss(name: str, version: str | None) -> CacheError:
    what = f"{name} {version}" if version else name
    return CacheError(
        f"Offline mode is on (AUTODOCS_OFFLINE) and {what} is not cached",
        details={"package_name": name, "version": version, "offline": True},
        suggestions=(
            "Unset AUTODOCS_OFFLINE to fetch it from the index, or ask for a package read before.",
        ),
    )


class Lookup:
    """Find a package version's documentation: cache first, then the index, stale on outage.

    Args:
        cache: Where answers are kept.
        index: Where they are fetched from.
        api: Reads the API reference of a release's file.
        deadline: Seconds allowed for one lookup, retries included.
        offline: Never contact the index; a miss is a :class:`~autodocs_core.errors.CacheError`.
        clock: Time source.
        shared: A fleet's shared state: the shared tier and cross-replica single flight
            (``None``: this process only, no shared call at all).

    Attributes:
        coalescer: The cross-replica single flight over *shared* (``None`` without it).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        *,
        cache: DocsCache,
        index: IndexClient,
        api: ApiReader,
        deadline: float = DEFAULT_DEADLINE,
        offline: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        shared: SharedState | None = None,
    ) -> None:
        self.cache = cache
        self.index = index
        self.api = api
        self.deadline_seconds = deadline
        self.offline = offline
        self.clock = clock
        self._flight: SingleFlight[tuple[ProjectIndex, float | None, tuple[str, ...], bool]]
        self._flight = SingleFlight()
        self.shared = shared
        self.coalescer = Coalescer(shared, clock=clock) if shared is not None else None

    @staticmethod
    def normalize(name: str) -> str:
        """Return the PEP 503 normal form of *name* (the one normalisation of the service).

        Raises:
            InvalidInputError: Not a valid package name.
        """
        return normalize_name(name)

    def deadline(self) -> Deadline:
        """Return a new deadline for one lookup (the configured seconds from now)."""
        return Deadline.after(self.deadline_seconds, self.clock)

    async def find(
        self, name: str, constraint: str | None, deadline: Deadline | None = None
    ) -> Found:
        """Find the documentation of *name* at *constraint*: cache first, then the index.

        Raises:
            InvalidInputError: Bad name or constraint.
            PackageNotFoundError, VersionNotFoundError: Nothing to document.
            CacheError: Offline mode, or the index unreachable, and nothing cached.
            AutodocsError: The index could not be reached and nothing is cached.
        """
        normal = self.normalize(name)
        pin = _exact_pin(constraint)
        warnings: list[str] = []
        if pin is not None:
            cached = await self.cache.get_docs(normal, pin)
            if cached is None and self.shared is not None and not self.offline:
                cached = await self._shared_get("docs", normal, pin)
            if cached is not None:
                return Found(cached.value, True, None, ())
        if deadline is None:
            deadline = self.deadline()
        # One lookup per package at a time: concurrent callers share the cache read and, on a
        # miss, the fetch (the cache read goes through a thread, so without this a crowd of
        # callers would miss in waves and each wave would ask the index again).
        project, stale_age, project_warnings, list_fetched = await self._flight.do(
            normal, lambda: self._project(normal, deadline)
        )
        warnings.extend(project_warnings)
        resolution = resolve_version(normal, project.releases, constraint)
        cached = await self.cache.get_docs(normal, resolution.version)
        if cached is not None:
            return Found(cached.value, True, stale_age, tuple(warnings))
        if self.offline:
            raise _offline_miss(normal, resolution.version)
        if stale_age is not None:
            if self.shared is not None:
                cached = await self._shared_get("docs", normal, resolution.version)
                if cached is not None:
                    return Found(cached.value, True, stale_age, tuple(warnings))
            raise CacheError(
                f"The index cannot be reached and {normal} {resolution.version} is not cached",
                details={"package_name": normal, "version": resolution.version},
                suggestions=(
                    "Try again when the index is reachable, or ask for a version you read before.",
                ),
            )

        async def fetch() -> PackageDocs:
            meta = await self.index.get_release(project, resolution.version, deadline=deadline)
            fetched = dt.datetime.fromtimestamp(self.clock.wall(), dt.UTC)
            return attrs.evolve(
                PackageDocs.from_metadata(meta, resolution, fetched),
                name=normal,
                version=resolution.version,
            )

        if self.coalescer is None:
            docs = await fetch()
            fetched_here, persisted = True, await self.cache.put_docs(docs)
        elif resolution.version == project.latest.version:
            # The latest version's documentation comes with the version list: no request to
            # coalesce. The replica that read the list from the index shares it too (for pins
            # and stale lists elsewhere); one that took the list from the shared tier keeps it
            # locally only, its file written behind the answer.
            docs, fetched_here = await fetch(), list_fetched
            if list_fetched:
                persisted, data = await self.cache.put_shared(
                    "docs", normal, docs.version, docs, soon=True
                )
                key = self.cache.shared_key("docs", normal, docs.version)
                await self.coalescer.state.put(key, data, SHARED_DOCS_TTL)
            else:
                persisted = await self.cache.put("docs", normal, docs.version, docs, soon=True)
        else:
            docs, fetched_here, persisted = await self._through_shared(
                "docs", normal, resolution.version, fetch, ttl=SHARED_DOCS_TTL, deadline=deadline
            )
        if not persisted:
            warnings.append("The disk cache is unavailable; this answer is cached in memory only.")
        return Found(docs, not fetched_here, None, tuple(warnings))

    async def _project(
        self, name: str, deadline: Deadline
    ) -> tuple[ProjectIndex, float | None, tuple[str, ...], bool]:
        """Return the version list, its age when stale, warnings, whether read from the index."""
        warnings: list[str] = []
        cached = await self.cache.get_project(name)
        if self.offline:
            if cached is None:
                raise _offline_miss(name, None)
            return cached.value, None, (), False
        if cached is not None and self.cache.is_fresh(cached):
            return cached.value, None, (), False
        # A stale copy at hand: one attempt, briefly, then serve the copy rather than retry
        # against an index that may be failing (and answer slowly).
        refresh = Deadline.after(min(self.deadline_seconds, STALE_REFRESH_SECONDS), self.clock)
        shared_stale: list[bytes] = []  # a stale copy seen in the shared tier, if any

        async def fetch() -> ProjectIndex:
            if cached is None and not shared_stale:
                return await self.index.get_project(name, deadline=deadline)
            if cached is None:  # the stale copy is the shared one: its refresh starts now
                brief = Deadline.after(
                    min(self.deadline_seconds, STALE_REFRESH_SECONDS), self.clock
                )
            else:
                brief = refresh
            return await self.index.get_project(name, policy=RetryPolicy.never(), deadline=brief)

        fresh_window = self.cache.versions_ttl

        def fresh(data: bytes) -> bool:
            stored_at = self.cache.shared_stored_at(data)
            if stored_at is None:
                return False  # unreadable: a miss; the fetched list replaces it
            # A writer whose clock is ahead by less than the window still counts as fresh.
            if abs(self.clock.wall() - stored_at) < fresh_window:
                return True
            shared_stale[:] = [data]
            return False

        persisted: bool | None = None
        fetched = True
        try:
            if self.coalescer is None:
                project = await fetch()
            else:
                project, fetched, persisted = await self._through_shared(
                    "project",
                    name,
                    None,
                    fetch,
                    ttl=max(SHARED_STALE_SECONDS, fresh_window),
                    deadline=refresh if cached is not None else deadline,
                    accept=fresh,
                )
        except _UNREACHABLE as exc:
            if shared_stale:
                stored_at = self.cache.shared_stored_at(shared_stale[-1]) or 0.0
                if cached is None or stored_at > cached.stored_at:
                    cached = (
                        await self.cache.adopt("project", name, None, shared_stale[-1]) or cached
                    )
            if cached is None:
                exc.suggestions = (
                    f"No cached copy of '{name}' is available to serve while the index is "
                    "unreachable; try again shortly.",
                    *exc.suggestions,
                )
                raise
            warnings.append(
                f"The index could not be reached ({exc.error_type}); serving the cached copy "
                f"from {cached.age / 3600:.1f} h ago."
            )
            return cached.value, cached.age, tuple(warnings), False
        if persisted is None:
            persisted = await self.cache.put_project(project)
        if not persisted:
            warnings.append("The disk cache is unavailable; working from memory only.")
        return project, None, tuple(warnings), fetched

    async def _shared_get(self, kind: str, name: str, version: str | None) -> Cached | None:
        """One read of the shared tier; a hit is kept locally (next time: no shared call)."""
        assert self.shared is not None
        data = await self.shared.get(self.cache.shared_key(kind, name, version))
        if data is None:
            return None
        return await self.cache.adopt(kind, name, version, data)

    async def _through_shared(
        self,
        kind: str,
        name: str,
        version: str | None,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float,
        deadline: Deadline,
        accept: Callable[[bytes], bool] | None = None,
    ) -> tuple[Any, bool, bool]:
        """Return *kind* content from the shared tier, another replica's fetch, or ``fetch()``.

        The :class:`~autodocs_core.fleet.Coalescer` does the cross-replica single flight (its
        leader's fetch is shielded from the first caller's cancellation); this keeps every
        answer locally too.

        Returns:
            ``(value, fetched by this call, whether the persistent level took it)``.
        """
        assert self.coalescer is not None
        cache, key = self.cache, self.cache.shared_key(kind, name, version)
        mine: list[tuple[Any, bool]] = []

        async def lead() -> bytes:
            value = await fetch()
            persisted, data = await cache.put_shared(kind, name, version, value)
            mine.append((value, persisted))
            return data

        check = accept or (lambda data: cache.shared_stored_at(data) is not None)
        data = await self.coalescer.do(
            key, lead, ttl=ttl, deadline=max(0.0, deadline.remaining()), accept=check
        )
        if not mine:
            adopted = await cache.adopt(kind, name, version, data)
            if adopted is not None:
                return adopted.value, False, True
            # Its head was fine but the rest did not decode: a miss. Fetch here, and replace
            # it for everyone.
            await self.coalescer.state.put(key, await lead(), ttl)
        value, persisted = mine[0]
        return value, True, persisted

    async def api_index(
        self, found: Found, wanted: frozenset[str], deadline: Deadline
    ) -> tuple[ApiIndex, bool]:
        """Return the API reference of the found version and whether it came from the cache.

        Cache first, then the released file; never fetched offline or while the index is
        unreachable (*found* is stale). A partial reference is not cached: it answers one
        query, and the next may need more.

        Raises:
            CacheError: Offline, or the index unreachable, and nothing cached.
            NotFoundError: The release has no file to read an API from.
        """
        name, version = found.docs.name, found.docs.version
        cached = await self.cache.get("apiref", name, version)
        if cached is not None:
            return cached.value, True
        if self.offline:
            raise _offline_miss(name, version)
        if found.stale_age is not None:
            if self.shared is not None:
                cached = await self._shared_get("apiref", name, version)
                if cached is not None:
                    return cached.value, True
            raise CacheError(
                f"The index cannot be reached and the API of {name} {version} is not cached",
                details={"package_name": name, "version": version},
                suggestions=("Try again when the index is reachable.",),
            )
        if self.coalescer is None:
            api = await self.api.get_index(name, version, deadline=deadline, wanted=wanted)
            if not api.partial:
                await self.cache.put("apiref", name, version, api)
            return api, False
        mine = object()

        async def fetch() -> ApiIndex:
            api = await self.api.get_index(name, version, deadline=deadline, wanted=wanted)
            if api.partial:  # it answers this caller's query only: neither cached nor shared
                raise _NotShared(api, mine)
            return api

        try:
            api, fetched_here, _ = await self._through_shared(
                "apiref", name, version, fetch, ttl=SHARED_DOCS_TTL, deadline=deadline
            )
        except _NotShared as exc:
            if exc.owner is mine:
                return exc.value, False
            # Another caller's partial read (it named other modules): read for this one.
            api = await self.api.get_index(name, version, deadline=deadline, wanted=wanted)
            if not api.partial:
                await self.cache.put("apiref", name, version, api)
            return api, False
        return api, not fetched_here
