"""Output models (the tools' output schemas) and conversions from core results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from autodocs_core.context import ContextAnswer, DependencyStatus
from autodocs_core.deps import Dependency
from autodocs_core.resilience import FailedItem, PartialResult
from autodocs_core.service import ApiAnswer, DocsAnswer

__all__ = [
    "ApiOut",
    "CacheStatsOut",
    "ContextOut",
    "DocsOut",
    "HealthOut",
    "ManyOut",
    "MetricsOut",
    "ReadyOut",
    "RefreshOut",
    "ScanOut",
    "api_out",
    "context_out",
    "docs_out",
    "many_out",
    "scan_out",
]


class ErrorOut(BaseModel):
    """An error payload."""

    error: str
    error_type: str
    details: dict[str, Any] = Field(default_factory=dict)
    suggestions: list[str] = Field(default_factory=list)
    recovery_actions: list[str] = Field(default_factory=list)


class FailedOut(BaseModel):
    """One failed item with its error payload."""

    key: str
    error: ErrorOut


class DocsOut(BaseModel):
    """Documentation of one package version."""

    package_name: str
    version: str
    version_constraint: str | None
    fetched_at: str
    from_cache: bool
    stale: bool
    stale_age_seconds: float | None
    yanked: bool
    truncated: bool
    tokens: int
    warnings: list[str]


class SkippedModuleOut(BaseModel):
    """A module left out of an API reference, and why."""

    module: str
    reason: str


class ApiOut(BaseModel):
    """The API reference of one package version, read from its released file."""

    package_name: str
    version: str
    version_constraint: str | None
    artifact: str
    artifact_sha256: str | None
    from_cache: bool
    stale: bool
    partial: bool
    has_docstrings: bool
    truncated: bool
    tokens: int
    entries: list[str]
    missing: list[str]
    skipped_modules: list[SkippedModuleOut]
    warnings: list[str]


class DependencyOut(BaseModel):
    """A dependency's place in a context answer."""

    name: str
    constraint: str
    status: str
    version: str | None
    tokens: int


class ContextOut(BaseModel):
    """A package with its dependencies' summaries."""

    package_name: str
    version: str
    version_constraint: str | None
    from_cache: bool
    stale: bool
    tokens: int
    dependencies: list[DependencyOut]
    failed_dependencies: list[FailedOut]
    warnings: list[str]


class ManyOut(BaseModel):
    """Several packages: what succeeded, what failed."""

    succeeded: list[DocsOut]
    failed: list[FailedOut]
    success_rate: float


class DependencyItem(BaseModel):
    """A declared dependency."""

    name: str
    constraint: str
    extras: list[str]
    markers: str | None
    source: str
    line: int
    group: str
    kind: str
    location: str | None


class ScanOut(BaseModel):
    """A project's declared dependencies."""

    dependencies: list[DependencyItem]
    failed: list[FailedOut]
    notes: list[str]


class RefreshOut(BaseModel):
    """What a cache refresh removed."""

    package_name: str | None
    entries_removed: int


class CacheStatsOut(BaseModel):
    """The cache's size, hit rate and health."""

    entries: int
    bytes: int
    memory_entries: int
    hits: int
    misses: int
    hit_rate: float
    oldest_age: float | None
    degraded: str | None
    memory_only: bool


class HealthOut(BaseModel):
    """Overall status and every check."""

    status: str
    timestamp: str
    checks: dict[str, dict[str, Any]]


class ReadyOut(BaseModel):
    """Readiness and what blocks it."""

    ready: bool
    reasons: list[str]


class MetricsOut(BaseModel):
    """The service's metrics."""

    metrics: dict[str, Any]


def _failed(items: tuple[FailedItem, ...]) -> list[FailedOut]:
    return [FailedOut(key=f.key, error=ErrorOut(**f.error.to_dict())) for f in items]


def docs_out(answer: DocsAnswer) -> DocsOut:
    """Convert a :class:`DocsAnswer`."""
    return DocsOut(
        package_name=answer.package_name,
        version=answer.version,
        version_constraint=answer.version_constraint,
        fetched_at=answer.fetched_at,
        from_cache=answer.from_cache,
        stale=answer.stale,
        stale_age_seconds=answer.stale_age,
        yanked=answer.yanked,
        truncated=answer.truncated,
        tokens=answer.tokens,
        warnings=list(answer.warnings),
    )


def api_out(answer: ApiAnswer) -> ApiOut:
    """Convert an :class:`ApiAnswer`."""
    return ApiOut(
        package_name=answer.package_name,
        version=answer.version,
        version_constraint=answer.version_constraint,
        artifact=answer.artifact,
        artifact_sha256=answer.artifact_sha256,
        from_cache=answer.from_cache,
        stale=answer.stale,
        partial=answer.partial,
        has_docstrings=answer.has_docstrings,
        truncated=answer.truncated,
        tokens=answer.tokens,
        entries=list(answer.entries),
        missing=list(answer.missing),
        skipped_modules=[SkippedModuleOut(module=m, reason=r) for m, r in answer.skipped_modules],
        warnings=list(answer.warnings),
    )


def _dep(status: DependencyStatus) -> DependencyOut:
    return DependencyOut(
        name=status.name,
        constraint=status.constraint,
        status=status.status,
        version=status.version,
        tokens=status.tokens,
    )


def context_out(answer: ContextAnswer) -> ContextOut:
    """Convert a :class:`ContextAnswer`."""
    return ContextOut(
        package_name=answer.package_name,
        version=answer.version,
        version_constraint=answer.version_constraint,
        from_cache=answer.from_cache,
        stale=answer.stale,
        tokens=answer.tokens,
        dependencies=[_dep(s) for s in answer.dependencies.succeeded],
        failed_dependencies=_failed(answer.dependencies.failed),
        warnings=list(answer.warnings),
    )


def many_out(result: PartialResult[DocsAnswer]) -> ManyOut:
    """Convert a many-package result."""
    return ManyOut(
        succeeded=[docs_out(a) for a in result.succeeded],
        failed=_failed(result.failed),
        success_rate=result.success_rate,
    )


def scan_out(result: PartialResult[Dependency]) -> ScanOut:
    """Convert a scan result."""
    return ScanOut(
        dependencies=[
            DependencyItem(
                name=d.name,
                constraint=d.constraint,
                extras=list(d.extras),
                markers=d.markers,
                source=d.source,
                line=d.line,
                group=d.group,
                kind=d.kind,
                location=d.location,
            )
            for d in result.succeeded
        ],
        failed=_failed(result.failed),
        notes=list(result.warnings),
    )
