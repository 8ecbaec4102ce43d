"""Structure and unstructure autodocs values with one private cattrs converter."""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter

__all__ = ["structure", "unstructure"]

T = TypeVar("T")

_converter: cattrs.Converter = make_converter()


def unstructure(value: Any) -> Any:
    """Return *value* (attrs classes, tuples, ...) as JSON-compatible builtins.

    .. versionadded:: 0.1.0
    """
    return _converter.unstructure(value)


def structure(data: Any, cls: type[T]) -> T:
    """Build a *cls* (e.g. ``PartialResult[str]``) from JSON-compatible *data*.

    Raises:
        InvalidInputError: When *data* does not fit *cls*; the details list each bad path.

    .. versionadded:: 0.1.0
    """
    from .errors import InvalidInputError

    try:
        return _converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        problems = (
            cattrs.transform_error(exc)
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        raise InvalidInputError(
            f"Data does not fit {getattr(cls, '__name__', cls)}",
            details={"problems": problems[:20]},
        ) from exc
