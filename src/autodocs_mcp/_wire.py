"""The tools' wire shapes, derived once from the core's attrs classes (no hand mirrors).

A :class:`Wire` names an attrs class and how it travels: fields left out (the documentation
goes as text content), renamed, or computed. Its JSON schema comes from the fields' type hints,
its values from the core's one cattrs converter. The schemas are compact, because the tool list
rides along in every conversation: types only, ``["string", "null"]`` for an optional value,
and objects inside lists as plain objects (their fields are documented once, in docs/tools.md
and docs/errors.md).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from autodocs_core._serde import unstructure
from autodocs_core.cache import CacheStats
from autodocs_core.context import ContextAnswer, DependencyStatus
from autodocs_core.deps import Dependency
from autodocs_core.observability import HealthReport, Readiness
from autodocs_core.resilience import FailedItem, PartialResult
from autodocs_core.service import ApiAnswer, DocsAnswer

__all__ = [
    "API",
    "CACHE_STATS",
    "CONTEXT",
    "DOCS",
    "HEALTH",
    "MANY",
    "METRICS",
    "READY",
    "REFRESH",
    "SCAN",
    "Metrics",
    "Refreshed",
    "Wire",
    "schema_of",
]

T = TypeVar("T")

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def schema_of(hint: Any, *, in_list: bool = False) -> dict[str, Any]:
    """The compact JSON schema of a type hint (the types attrs answers use).

    An attrs class, a mapping or a fixed-length tuple inside a list is a plain object; a
    ``Literal`` is the type of its values; ``X | None`` is ``{"type": [X, "null"]}``.

    Raises:
        TypeError: A hint this wire format does not publish (a new field type is a decision).
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is typing.Literal:
        return schema_of(type(args[0]))
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (other,) = [a for a in args if a is not type(None)]
        inner = schema_of(other, in_list=in_list)
        if isinstance(inner.get("type"), str) and len(inner) == 1:
            return {"type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin in (tuple, list) and (origin is list or args[-1:] == (Ellipsis,)):
        return {"type": "array", "items": schema_of(args[0], in_list=True)}
    is_object = attrs.has(hint) or origin in (dict, Mapping) or origin is tuple
    if is_object and in_list:
        return {"type": "object"}  # fields documented in docs/tools.md
    if origin in (dict, Mapping):
        value = args[1] if args else Any
        return {
            "type": "object",
            "additionalProperties": True if value is Any else schema_of(value),
        }
    raise TypeError(f"no wire schema for {hint!r}")


def _hints(cls: Any) -> dict[str, Any]:
    """The field hints of an attrs class or of a parametrised generic one (``PartialResult[X]``)."""
    origin = typing.get_origin(cls) or cls
    hints = typing.get_type_hints(origin)
    params = getattr(origin, "__parameters__", ())
    binding = dict(zip(params, typing.get_args(cls), strict=False))

    def bind(hint: Any) -> Any:
        if isinstance(hint, TypeVar):
            return binding.get(hint, Any)
        args = typing.get_args(hint)
        if typing.get_origin(hint) is tuple and args and any(isinstance(a, TypeVar) for a in args):
            return tuple[tuple(bind(a) for a in args)]  # type: ignore[misc]
        return hint

    return {f.name: bind(hints[f.name]) for f in attrs.fields(origin)}


@attrs.frozen
class Wire(Generic[T]):
    """How values of one attrs class travel: which fields, under which names.

    Attributes:
        cls: The attrs class (a parametrised generic such as ``PartialResult[Dependency]`` too).
        drop: Fields that do not travel.
        rename: Field name -> wire name.
        computed: Wire name -> (type hint, value from the object, ready for JSON); after the
            fields.
    """

    cls: Any
    drop: tuple[str, ...] = ()
    rename: Mapping[str, str] = attrs.field(factory=dict)
    computed: Mapping[str, tuple[Any, Callable[[T], Any]]] = attrs.field(factory=dict)

    def schema(self) -> dict[str, Any]:
        """The output schema: one property per travelling field (compact, see the module)."""
        props = {
            self.rename.get(name, name): schema_of(hint)
            for name, hint in _hints(self.cls).items()
            if name not in self.drop
        }
        props.update({name: schema_of(hint) for name, (hint, _) in self.computed.items()})
        return {"type": "object", "properties": props}

    def value(self, obj: T) -> dict[str, Any]:
        """The structured content of *obj* (JSON-compatible, through the core's converter)."""
        data = unstructure(obj)
        out = {
            self.rename.get(f.name, f.name): data[f.name]
            for f in attrs.fields(typing.get_origin(self.cls) or self.cls)
            if f.name not in self.drop
        }
        out.update({name: get(obj) for name, (_, get) in self.computed.items()})
        return out


@attrs.frozen
class Refreshed:
    """What a cache refresh removed (the ``refresh_cache`` answer)."""

    package_name: str | None
    entries_removed: int


@attrs.frozen
class Metrics:
    """The service's metrics (the ``get_metrics`` answer)."""

    metrics: dict[str, Any]


_CONSTRAINT = {"constraint": "version_constraint"}
"""The core's ``constraint`` travels under the tools' argument name."""

DOCS: Wire[DocsAnswer] = Wire(
    DocsAnswer,
    drop=("documentation",),
    rename={**_CONSTRAINT, "stale_age": "stale_age_seconds"},
)
"""``get_package_docs``: the answer without its text (that is the content)."""

API: Wire[ApiAnswer] = Wire(
    ApiAnswer,
    drop=("documentation", "skipped_modules"),
    rename=_CONSTRAINT,
    computed={
        "skipped_modules": (
            tuple[dict[str, str], ...],
            lambda a: [{"module": m, "reason": r} for m, r in a.skipped_modules],
        )
    },
)
"""``get_api_reference``: skipped modules as ``{module, reason}`` objects."""

CONTEXT: Wire[ContextAnswer] = Wire(
    ContextAnswer,
    drop=("documentation", "dependencies"),
    rename=_CONSTRAINT,
    computed={
        "dependencies": (
            tuple[DependencyStatus, ...],
            lambda a: unstructure(a.dependencies.succeeded),
        ),
        "failed_dependencies": (
            tuple[FailedItem, ...],
            lambda a: unstructure(a.dependencies.failed),
        ),
    },
)
"""``get_package_docs_with_context``: the dependencies' statuses and failures side by side."""

MANY: Wire[PartialResult[DocsAnswer]] = Wire(
    PartialResult[DocsAnswer],
    drop=("succeeded", "warnings"),
    computed={
        "succeeded": (tuple[DocsAnswer, ...], lambda r: [DOCS.value(a) for a in r.succeeded]),
        "success_rate": (float, lambda r: r.success_rate),
    },
)
"""``get_docs_for_packages``: each success as in ``get_package_docs``, each failure."""

SCAN: Wire[PartialResult[Dependency]] = Wire(
    PartialResult[Dependency], rename={"succeeded": "dependencies", "warnings": "notes"}
)
"""``scan_dependencies``: the declared dependencies, failures and notes."""

CACHE_STATS: Wire[CacheStats] = Wire(CacheStats)
"""``get_cache_stats``."""

HEALTH: Wire[HealthReport] = Wire(
    HealthReport,
    drop=("checks",),
    computed={"checks": (dict[str, dict[str, Any]], lambda r: r.to_dict()["checks"])},
)
"""``health_check``: the checks by name."""

READY: Wire[Readiness] = Wire(Readiness)
"""``ready_check``."""

REFRESH: Wire[Refreshed] = Wire(Refreshed)
"""``refresh_cache``."""

METRICS: Wire[Metrics] = Wire(Metrics)
"""``get_metrics``."""
