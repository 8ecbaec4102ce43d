"""The one facade both adapters (MCP server, CLI) call: :class:`DocsService`.

A thin facade: :func:`build_parts` wires the HTTP client, the index client (with its
per-host breakers and budgets), the API reader and the cache from one
:class:`~autodocs_core.config.Settings`; :class:`~autodocs_core.lookup.Lookup` finds a
package version (cache-aside, stale on outage, offline); this module validates the input
before any I/O, renders the answer within its budget and counts the call. Health and
metrics come from :mod:`autodocs_core.observability`, given the pieces they read.
"""

from __future__ import annotations

import functools
import os
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs
import httpx

from .apiref import ApiIndex, ApiReader
from .cache import CacheStats, CacheStore, DiskStore, DocsCache
from .config import Settings
from .context import (
    MAX_CONTEXT_DEPENDENCIES,
    ContextAnswer,
    DependencyStatus,
    assemble_context,
    context_result,
    runtime_dependencies,
)
from .deps import Dependency, scan_dependencies
from .docs import MIN_TOKENS, check_budget, render_api, render_docs
from .errors import AutodocsError, InvalidInputError
from .fleet import LocalState, SharedState, fleet_from_settings
from .http import HttpClient
from .lookup import Found, Lookup, split_extras, split_requirement
from .observability import (
    HealthReport,
    Readiness,
    ServiceMetrics,
    check_health,
    check_readiness,
)
from .pypi import IndexClient
from .resilience import (
    SYSTEM_CLOCK,
    Clock,
    FetchProgress,
    Hooks,
    PartialResult,
    fetch_all,
)

__all__ = [
    "MAX_PACKAGES",
    "MAX_REQUIREMENT_LENGTH",
    "ApiAnswer",
    "DocsAnswer",
    "DocsService",
    "ServiceParts",
    "build_parts",
]

MAX_QUERY_LENGTH = 500
"""Longest ``query`` accepted (characters)."""
MAX_SYMBOL_LENGTH = 300
"""Longest ``symbol`` (dotted path) accepted (characters)."""
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Za-z_]\w*_\w*")

MAX_PACKAGES = 100
"""Most packages one :meth:`DocsService.get_many` call accepts."""
MAX_REQUIREMENT_LENGTH = 340
"""Longest requirement string (name, extras, constraint) :meth:`DocsService.get_many` accepts."""


@attrs.frozen
class DocsAnswer:
    """Rendered documentation for one package version, with where it came from.

    Attributes:
        package_name: Normalised name.
        version: The exact resolved version.
        constraint: The version constraint as asked (``None``: latest; on the MCP wire
            ``version_constraint``).
        fetched_at: When the documentation was read from the index (ISO 8601, UTC).
        from_cache: Whether no request was needed for the documentation itself.
        stale: Whether the index could not be reached and a cached copy was served.
        stale_age: Age in seconds of the stale copy.
        documentation: The rendered Markdown (untrusted text fenced).
        tokens: Its size in (over-)estimated tokens.
        truncated: Whether parts were left out to fit the budget.
        yanked: Whether the version is yanked.
        warnings: Notes for the caller.
    """

    package_name: str
    version: str
    constraint: str | None
    fetched_at: str
    from_cache: bool
    stale: bool
    stale_age: float | None
    documentation: str
    tokens: int
    truncated: bool
    yanked: bool
    warnings: tuple[str, ...] = ()


@attrs.frozen
class ApiAnswer:
    """The API reference of one package version, rendered for a symbol or a query.

    Attributes:
        package_name: Normalised name.
        version: The exact resolved version.
        constraint: The version constraint as asked (``None``: latest; on the MCP wire
            ``version_constraint``).
        artifact: The file the reference was read from (name of the wheel or sdist).
        artifact_sha256: Its published sha256, when the index gives one.
        documentation: The rendered Markdown (signatures and docstrings fenced as untrusted).
        tokens: Its size in (over-)estimated tokens.
        truncated: Whether entries were left out to fit the budget.
        entries: Dotted paths of the objects included, most relevant first.
        missing: What the symbol or query names that this version does not have, with the
            nearest names that exist.
        skipped_modules: ``(module, reason)`` for modules left out of the reference.
        partial: Whether only part of the package was read (very large package, deadline).
        has_docstrings: ``False`` when only type stubs were available (compiled code).
        from_cache: Whether the reference came from the cache (no file read).
        stale: Whether the index could not be reached and the version list was a cached copy.
        warnings: Notes for the caller.

    .. versionadded:: 0.2.0
    """

    package_name: str
    version: str
    constraint: str | None
    artifact: str
    artifact_sha256: str | None
    documentation: str
    tokens: int
    truncated: bool
    entries: tuple[str, ...]
    missing: tuple[str, ...]
    skipped_modules: tuple[tuple[str, str], ...]
    partial: bool
    has_docstrings: bool
    from_cache: bool
    stale: bool
    warnings: tuple[str, ...] = ()


def _check_query(query: str | None, symbol: str | None = None) -> None:
    if query is not None and len(query) > MAX_QUERY_LENGTH:
        raise InvalidInputError(
            f"The query is longer than {MAX_QUERY_LENGTH} characters",
            details={"query_length": len(query)},
        )
    if symbol is not None and (len(symbol) > MAX_SYMBOL_LENGTH or not _SYMBOL.fullmatch(symbol)):
        raise InvalidInputError(
            "The symbol must be a dotted Python name such as 'httpx.Client.get'",
            details={"symbol_length": len(symbol)},
            suggestions=("Pass a dotted path, or use query= for a free-text search.",),
        )


def _wanted(symbol: str | None, query: str | None) -> frozenset[str]:
    """Dotted names and identifiers a caller names: the modules a huge package loads first."""
    names = set(_IDENTIFIER.findall(query or "")[:20])
    if symbol:
        names.add(symbol)
    return frozenset(n[:MAX_SYMBOL_LENGTH] for n in names)


_DEFAULT: Any = object()


@attrs.frozen
class ServiceParts:
    """The objects a :class:`DocsService` is made of, wired from one :class:`Settings`.

    Attributes:
        http: The HTTP client (connection pool, TLS, credentials, size limits).
        index: The index client (per-host breakers, budgets, hedging) over *http*.
        api: The API reader over *index*; also the index's metadata fallback.
        cache: The cache (memory, then the persistent store if any).
        lookup: Cache-aside, stale-on-outage and offline lookups over the four above.
        shared: The fleet's shared state (``AUTODOCS_REDIS_URL``; a :class:`LocalState` when
            unset). Its ``statistics()`` are what health and metrics report; with a Redis URL
            it is also the lookup's shared tier and cross-replica single flight.

    .. versionadded:: 0.2.0
    """

    http: HttpClient
    index: IndexClient
    api: ApiReader
    cache: DocsCache
    lookup: Lookup
    shared: SharedState = attrs.field(factory=LocalState)


def build_parts(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    store: CacheStore | None = _DEFAULT,
    clock: Clock = SYSTEM_CLOCK,
    rng: random.Random | None = None,
    hooks: Hooks | None = None,
    shared: SharedState | None = None,
) -> ServiceParts:
    """Wire the HTTP client, index client, API reader, cache and lookup from *settings*.

    The one factory: :class:`DocsService` is built with it, and so can another front end that
    wants the same objects without the facade.

    Args:
        settings: Configuration.
        transport: An httpx transport, for tests.
        store: The cache's persistent level; default a :class:`DiskStore` in
            ``settings.cache_path()``; ``None`` for memory only.
        clock: Time source.
        rng: Randomness for jitter.
        hooks: Resilience events.
        shared: The fleet's shared state (default: ``fleet_from_settings(settings)``). Unless
            it is the default :class:`LocalState` of an unset ``AUTODOCS_REDIS_URL`` (one
            process: no shared tier, not a single extra call), the lookup uses it as its shared
            tier and cross-replica single flight.

    Raises:
        ConfigError: ``AUTODOCS_REDIS_URL`` is set and the ``redis`` extra is not installed.

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.2.0
       *shared*, and ``ServiceParts.shared``.
    """
    stores: dict[str, CacheStore] = {}
    if store is _DEFAULT:
        store = DiskStore(settings.cache_path(), max_bytes=settings.cache_max_bytes)
        # API references have their own budget, in a directory the docs store leaves alone.
        stores["apiref"] = DiskStore(
            os.path.join(settings.cache_path(), "_apiref"),
            max_bytes=settings.apiref_cache_max_bytes,
        )
    cache = DocsCache(
        store,
        stores=stores,
        memory_entries=settings.memory_cache_entries,
        clock=clock,
        versions_ttl=settings.versions_ttl,
        index_url=settings.index_url,
    )
    http = HttpClient(
        settings.http_config(),
        credentials=settings.credentials(),
        transport=transport,
        clock=clock,
    )
    tier: SharedState | None = shared
    if shared is None:
        shared = fleet_from_settings(settings, clock=clock)
        tier = None if isinstance(shared, LocalState) else shared
    # Upstream admission goes through the shared state only when there is a fleet (or a fleet
    # rate to keep): otherwise the process's own breakers and budgets decide alone, exactly as
    # before (no extra work).
    admits = tier is not None or settings.fleet_rate is not None
    index = IndexClient(
        http,
        settings.index_config(),
        clock=clock,
        rng=rng,
        hooks=hooks,
        shared=shared if admits else None,
    )
    api = ApiReader(index, clock=clock)
    index.metadata_fallback = api.read_metadata
    lookup = Lookup(
        cache=cache,
        index=index,
        api=api,
        deadline=settings.deadline,
        offline=settings.offline,
        clock=clock,
        shared=tier,
    )
    return ServiceParts(http=http, index=index, api=api, cache=cache, lookup=lookup, shared=shared)


class DocsService:
    """Accurate, version-specific, budgeted documentation, served from cache when it can be.

    Use as ``async with DocsService(settings) as service: await service.get_docs("httpx")``.

    Args:
        settings: Configuration (default: read from the environment).
        transport: An httpx transport, for tests.
        store: The cache's persistent level; default a :class:`DiskStore` in
            ``settings.cache_path()``; ``None`` for memory only.
        clock: Time source.
        rng: Randomness for jitter.
        hooks: Resilience events.
        shared: The fleet's shared state (default: from ``AUTODOCS_REDIS_URL``); see
            :func:`build_parts`. The service warms it up on entry and closes it on exit.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        store: CacheStore | None = _DEFAULT,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        hooks: Hooks | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.settings = settings = settings if settings is not None else Settings.from_env()
        self.clock = clock
        self.metrics = ServiceMetrics()
        self.shutting_down = False
        parts = build_parts(
            settings,
            transport=transport,
            store=store,
            clock=clock,
            rng=rng,
            hooks=Hooks.combine(hooks, self.metrics.resilience.hooks),
            shared=shared,
        )
        self.http = parts.http
        self.index = parts.index
        self.api = parts.api
        self.cache = parts.cache
        self.lookup = parts.lookup
        self.shared = parts.shared

    async def __aenter__(self) -> Self:
        await self.http.__aenter__()
        # Connections and scripts now, within its own budget (2 s), rather than inside the
        # per-operation budget of the first burst of calls. Only RedisState has it; it never
        # raises (a Redis that is down only makes calls answer locally).
        warm_up = getattr(self.shared, "warm_up", None)
        if warm_up is not None:
            await warm_up()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.http.__aexit__(*exc_info)
        finally:
            try:
                await self.shared.aclose()
            finally:
                with anyio.CancelScope(shield=True):
                    await self.cache.flush()  # files written behind answers

    # -- documentation -----------------------------------------------------------------------

    async def get_docs(
        self,
        name: str,
        constraint: str | None = None,
        *,
        query: str | None = None,
        max_tokens: int | None = None,
    ) -> DocsAnswer:
        """Return the rendered documentation of *name* at the version *constraint* selects.

        Raises:
            InvalidInputError: Bad name, constraint, query or budget (before any I/O).
            PackageNotFoundError, VersionNotFoundError: Nothing to document.
            CacheError: Offline mode and nothing cached.
            AutodocsError: The index could not be reached and nothing is cached (the error
                says so and what to do).
        """
        with self.metrics.track("get_docs") as outcome:
            budget = check_budget(max_tokens)
            _check_query(query)
            deadline = self.lookup.deadline()
            found = await self.lookup.find(name, constraint, deadline)
            api: ApiIndex | None = None
            if query:
                # A question is answered from the API and the README in one ranked list; the
                # README alone still answers when the API reference cannot be read.
                try:
                    api, _ = await self.lookup.api_index(found, _wanted(None, query), deadline)
                except AutodocsError as exc:
                    found = attrs.evolve(
                        found,
                        warnings=(
                            *found.warnings,
                            f"No API reference this time ({exc.error_type}); answered from "
                            "the README and metadata.",
                        ),
                    )
            answer = self._answer(found, constraint, query, budget, api)
            if answer.stale:
                outcome.value = "stale"
            return answer

    async def get_api_reference(
        self,
        name: str,
        constraint: str | None = None,
        *,
        symbol: str | None = None,
        query: str | None = None,
        max_tokens: int | None = None,
    ) -> ApiAnswer:
        """Return the API reference of *name* at *constraint*, for a symbol or a query.

        The reference is read statically from the release's own wheel (or sdist): signatures,
        parameters, type aliases and docstrings of exactly that version. Nothing is installed,
        imported or run.

        Args:
            name: The package.
            constraint: A PEP 440 specifier or version (default: latest).
            symbol: A dotted path to look up exactly (``httpx.Client.get``).
            query: Free text to search the API for (``timeout``, ``Client(proxies=...)``).
            max_tokens: Budget of the answer.

        Raises:
            InvalidInputError: Bad name, constraint, symbol, query or budget (before any I/O).
            PackageNotFoundError, VersionNotFoundError: Nothing to document.
            NotFoundError: The release has no file to read an API from.
            CacheError: Offline mode and nothing cached.
        """
        with self.metrics.track("get_api_reference") as outcome:
            budget = check_budget(max_tokens)
            _check_query(query, symbol)
            deadline = self.lookup.deadline()
            found = await self.lookup.find(name, constraint, deadline)
            api, from_cache = await self.lookup.api_index(found, _wanted(symbol, query), deadline)
            rendered = render_api(
                api,
                symbol=symbol,
                query=query,
                max_tokens=budget,
                constraint=constraint,
                stale_age=found.stale_age,
            )
            if api.partial or found.stale_age is not None:
                outcome.value = "partial" if api.partial else "stale"
            return ApiAnswer(
                package_name=api.name,
                version=api.version,
                constraint=constraint,
                artifact=api.artifact.filename,
                artifact_sha256=api.artifact.sha256,
                documentation=rendered.text,
                tokens=rendered.tokens,
                truncated=rendered.truncated,
                entries=rendered.api_entries,
                missing=rendered.missing,
                skipped_modules=tuple((s.module, s.reason) for s in api.skipped),
                partial=api.partial,
                has_docstrings=api.has_docstrings,
                from_cache=from_cache,
                stale=found.stale_age is not None,
                warnings=found.warnings,
            )

    def _answer(
        self,
        found: Found,
        constraint: str | None,
        query: str | None,
        budget: int,
        api: ApiIndex | None = None,
    ) -> DocsAnswer:
        docs = found.docs
        rendered = render_docs(
            docs,
            constraint=constraint,
            query=query,
            max_tokens=budget,
            stale_age=found.stale_age,
            api=api,
        )
        return DocsAnswer(
            package_name=docs.name,
            version=docs.version,
            constraint=constraint,
            fetched_at=docs.fetched_at.isoformat(),
            from_cache=found.from_cache,
            stale=found.stale_age is not None,
            stale_age=found.stale_age,
            documentation=rendered.text,
            tokens=rendered.tokens,
            truncated=rendered.truncated,
            yanked=docs.yanked,
            warnings=found.warnings,
        )

    async def get_docs_with_context(
        self,
        name: str,
        constraint: str | None = None,
        *,
        scope: str = "smart",
        include_dependencies: bool = True,
        max_dependencies: int = 8,
        max_tokens: int | None = None,
        query: str | None = None,
        on_progress: Callable[[FetchProgress], None] | None = None,
    ) -> ContextAnswer:
        """Return *name*'s documentation with summaries of its runtime dependencies.

        The primary package comes first and in full as far as the budget allows (60% of it when
        there are dependencies); dependency summaries share the rest. A failing dependency is
        listed with its error, never fails the answer.

        Args:
            name: The package.
            constraint: Its version constraint.
            scope: ``primary-only``, ``runtime`` (declared order) or ``smart`` (shims last).
            include_dependencies: ``False`` is the same as ``scope="primary-only"``.
            max_dependencies: Most dependencies fetched (0..50).
            max_tokens: Budget of the whole answer.
            query: Ranks the primary package's sections.
            on_progress: Called after each dependency.
        """
        budget = check_budget(max_tokens)
        if not include_dependencies:
            scope = "primary-only"
        if not isinstance(max_dependencies, int) or not (
            0 <= max_dependencies <= MAX_CONTEXT_DEPENDENCIES
        ):
            raise InvalidInputError(
                f"max_dependencies must be from 0 to {MAX_CONTEXT_DEPENDENCIES}",
                details={"max_dependencies": repr(max_dependencies)[:20]},
            )
        with self.metrics.track("get_docs_with_context") as outcome:
            base, extras = split_extras(name)
            found = await self.lookup.find(base, constraint)
            deps = runtime_dependencies(found.docs.requires_dist, extras=extras, scope=scope)
            chosen, beyond = deps[:max_dependencies], deps[max_dependencies:]
            primary_budget = budget if not chosen else max(MIN_TOKENS, budget * 6 // 10)
            primary = self._answer(found, constraint, query, primary_budget)
            per_dep = max(MIN_TOKENS, (budget - primary.tokens) // max(1, len(chosen)))

            async def dep_docs(item: tuple[str, str]) -> DocsAnswer:
                return await self.get_docs(item[0], item[1] or None, max_tokens=per_dep)

            fetched = await fetch_all(
                dep_docs,
                chosen,
                limit=self.settings.max_concurrency,
                key=lambda item: item[0],
                on_progress=on_progress,
            )
            answers = {a.package_name: a for a in fetched.succeeded}
            text, tokens, statuses = assemble_context(
                primary.documentation,
                [
                    (n, c, answers[n].version, answers[n].documentation, answers[n].truncated)
                    for n, c in chosen
                    if n in answers
                ],
                budget=budget,
                title=f"Dependencies of {primary.package_name} {primary.version} (summaries)",
            )
            statuses += [DependencyStatus(n, c, "skipped_by_limit") for n, c in beyond]
            if fetched.failed or any(s.status != "included" for s in statuses):
                outcome.value = "partial"
            return ContextAnswer(
                package_name=primary.package_name,
                version=primary.version,
                constraint=constraint,
                documentation=text,
                tokens=tokens,
                dependencies=context_result(statuses, fetched.failed),
                from_cache=primary.from_cache,
                stale=primary.stale,
                warnings=primary.warnings,
            )

    async def get_many(
        self,
        packages: Sequence[str | tuple[str, str | None]],
        *,
        max_tokens_per_package: int | None = None,
        on_progress: Callable[[FetchProgress], None] | None = None,
    ) -> PartialResult[DocsAnswer]:
        """Fetch many packages at once (bounded concurrency); failures are listed, not raised.

        Args:
            packages: Requirement strings (``httpx>=0.27``, or a bare name for the latest; see
                :func:`~autodocs_core.lookup.split_requirement`), or ``(name, constraint)``
                pairs (at most ``MAX_PACKAGES``).
            max_tokens_per_package: Budget of each answer.
            on_progress: Called after each package.
        """
        if len(packages) > MAX_PACKAGES:
            raise InvalidInputError(
                f"At most {MAX_PACKAGES} packages per call, got {len(packages)}",
                details={"count": len(packages)},
                suggestions=("Split the list into several calls.",),
            )
        too_long = [p for p in packages if isinstance(p, str) and len(p) > MAX_REQUIREMENT_LENGTH]
        if too_long:
            raise InvalidInputError(
                f"A requirement string is longer than {MAX_REQUIREMENT_LENGTH} characters",
                details={"length": len(too_long[0])},
            )
        check_budget(max_tokens_per_package)
        items = [split_requirement(p) if isinstance(p, str) else (p[0], p[1]) for p in packages]

        async def one(item: tuple[str, str | None]) -> DocsAnswer:
            return await self.get_docs(item[0], item[1], max_tokens=max_tokens_per_package)

        with self.metrics.track("get_many") as outcome:
            result = await fetch_all(
                one,
                items,
                limit=self.settings.max_concurrency,
                on_progress=on_progress,
                key=lambda item: item[0] if item[1] is None else f"{item[0]}{item[1]}",
            )
            if not result.is_complete:
                outcome.value = "partial"
            return result

    # -- cache -------------------------------------------------------------------------------

    async def refresh(self, name: str | None = None) -> int:
        """Drop the cached data of *name* (every version), or of everything; return the count.

        With a fleet's shared tier, *name*'s version list is dropped there too, so the next
        call asks the index (documentation of an exact version never changes and stays shared).
        """
        normal = self.lookup.normalize(name) if name is not None else None
        if normal is not None and self.lookup.shared is not None:
            await self.lookup.shared.put(self.cache.shared_key("project", normal), b"", 0)
        return await self.cache.refresh(normal)

    async def cache_stats(self) -> CacheStats:
        """Return entries, bytes, hit rate, oldest entry and cache health."""
        return await self.cache.stats()

    # -- projects ----------------------------------------------------------------------------

    async def scan(
        self,
        path: str | os.PathLike[str],
        *,
        root: str | os.PathLike[str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> PartialResult[Dependency]:
        """Scan a project for its dependencies (see :func:`scan_dependencies`), off the loop.

        Args:
            path: A project directory or dependency file.
            root: The directory the scan is confined to.
            environment: Marker environment overrides.
        """
        with self.metrics.track("scan_dependencies"):
            # The scanner polls check_cancelled: a cancelled call stops its worker thread at
            # the next poll instead of burning a core until the scan ends.
            return await anyio.to_thread.run_sync(
                functools.partial(
                    scan_dependencies,
                    path,
                    root=root,
                    environment=environment,
                    cancel=anyio.from_thread.check_cancelled,
                )
            )

    # -- operations --------------------------------------------------------------------------

    async def health(self) -> HealthReport:
        """Run the health checks (cache probe, index, parser, memory, disk, error rate)."""
        return await check_health(
            settings=self.settings,
            cache=self.cache,
            http=self.http,
            index=self.index,
            metrics=self.metrics,
            clock=self.clock,
            **self._shared_statistics(),
        )

    def _shared_statistics(self) -> dict[str, Any]:
        """The shared layer's counters for health and metrics (nothing when there is none)."""
        coalescer = self.lookup.coalescer
        return {
            "fleet": self.shared.statistics(),
            "coalescer": coalescer.statistics() if coalescer is not None else None,
        }

    async def ready(self) -> Readiness:
        """Return whether the service can take calls."""
        return await check_readiness(
            settings=self.settings, cache=self.cache, shutting_down=self.shutting_down
        )

    def metrics_snapshot(self) -> dict[str, Any]:
        """Return the service's metrics as plain data."""
        return self.metrics.snapshot(
            cache=self.cache, index=self.index, **self._shared_statistics()
        )

    def metrics_prometheus(self) -> str:
        """Return the service's metrics in the Prometheus text format."""
        return self.metrics.prometheus_text(
            cache=self.cache, index=self.index, **self._shared_statistics()
        )

    def begin_shutdown(self) -> None:
        """Mark the service as shutting down: readiness turns false."""
        self.shutting_down = True
