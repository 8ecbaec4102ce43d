"""Package names: validated before any I/O (PEP 508), then normalised (PEP 503)."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from ..errors import InvalidInputError

__all__ = ["MAX_NAME_LENGTH", "normalize_name"]

MAX_NAME_LENGTH = 128
"""Longest package name accepted."""

# PEP 508: ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$, case-insensitive, ASCII only.
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def normalize_name(raw: object) -> str:
    """Validate *raw* as a distribution name and return its PEP 503 normal form.

    ``Foo_Bar``, ``foo.bar`` and ``FOO--bar`` all become ``foo-bar``: one package, one URL,
    one cache key.

    Raises:
        InvalidInputError: When *raw* is not a string, is empty or too long, contains non-ASCII
            characters, or breaks the PEP 508 name rule.
    """
    if not isinstance(raw, str):
        raise InvalidInputError(
            f"A package name must be a string, got {type(raw).__name__}",
            details={"package_name": repr(raw)[:80]},
        )
    name = raw.strip()
    shown = name[:80]
    if not name:
        raise InvalidInputError(
            "The package name is empty", suggestions=("Give a package name such as 'httpx'.",)
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"The package name is {len(name)} characters long (at most {MAX_NAME_LENGTH})",
            details={"package_name": shown + "..."},
        )
    if not name.isascii() or _NAME.fullmatch(name) is None:
        hint = (
            "Names use ASCII letters, digits, '.', '_' and '-', and start and end with a letter "
            "or digit."
        )
        if any(c in name for c in "<>=!~ ;[@"):
            hint = "Pass the version separately (version_constraint), not inside the name; " + hint
        raise InvalidInputError(
            f"'{shown}' is not a valid package name",
            details={"package_name": shown},
            suggestions=(hint,),
        )
    return str(canonicalize_name(name))
