"""The API reference of one released version, as frozen values (cached, rendered, ranked).

Everything here was read statically from the released artifact: nothing was imported or run.
Docstrings, signatures and values are untrusted upstream text: the renderer fences them.
"""

from __future__ import annotations

import attrs

__all__ = [
    "ENTRY_KINDS",
    "ApiEntry",
    "ApiIndex",
    "Artifact",
    "Parameter",
    "SkippedModule",
]

ENTRY_KINDS = (
    "module",
    "class",
    "function",
    "method",
    "property",
    "attribute",
    "type_alias",
)
"""The kinds of :class:`ApiEntry`."""


@attrs.frozen
class Artifact:
    """The released file an API reference was read from.

    Attributes:
        filename: The file's name on the index (a wheel or an sdist).
        url: Where it was read from, credentials redacted.
        sha256: The published sha256, when the index gives one.
        size: Its size in bytes, when known.
        kind: ``wheel`` or ``sdist``.

    .. versionadded:: 0.2.0
    """

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None
    kind: str = "wheel"


@attrs.frozen
class Parameter:
    """One parameter of a function or of a class's constructor.

    Attributes:
        name: The name (without ``*``/``**``).
        kind: ``positional-only``, ``positional-or-keyword``, ``var-positional``,
            ``keyword-only`` or ``var-keyword``.
        annotation: The annotation as written (source text), if any.
        default: The default as written (source text), if any.
        description: The parameter's item from the docstring (``Args:``/``Parameters``), if any.
    """

    name: str
    kind: str = "positional-or-keyword"
    annotation: str | None = None
    default: str | None = None
    description: str | None = None


@attrs.frozen
class ApiEntry:
    """One public object of a package version.

    Attributes:
        path: Its canonical dotted path, preferring the shortest public re-export
            (``httpx.Client.get``, not ``httpx._client.Client.get``).
        kind: One of :data:`ENTRY_KINDS`.
        module: The dotted path of the module that defines it.
        signature: The signature as one line (``(url, *, timeout=5.0) -> Response``) for
            functions, methods and classes (the constructor's, with dataclass / attrs / pydantic
            fields as its parameters); ``None`` otherwise.
        parameters: The parameters behind the signature.
        returns: The return annotation, if any.
        docstring: The docstring, trimmed (untrusted).
        bases: Base classes as written, for classes.
        members: Names of public members, for classes and modules.
        overloads: Signatures of ``@overload`` variants (stub files keep them apart).
        value: The value as written, for attributes and type aliases (``Literal[...]``).
        exported: Whether it is reachable from the top-level package (``import pkg; pkg.X``).
        private: Whether any part of its path is private (``_x``).
        deprecated: Whether it is marked deprecated (decorator or docstring).
        aliases: Other public paths it is re-exported under.
        decorators: Decorators as written (``property``, ``classmethod``, ...), trimmed.
        terms: The docstring's search terms, pre-tokenised (stems, sorted) when the index is
            cached, so a reference read back from the cache ranks without re-tokenising; empty
            means "not computed" (the ranker tokenises the docstring itself).

    .. versionadded:: 0.2.0
    """

    path: str
    kind: str
    module: str
    signature: str | None = None
    parameters: tuple[Parameter, ...] = ()
    returns: str | None = None
    docstring: str | None = None
    bases: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    overloads: tuple[str, ...] = ()
    value: str | None = None
    exported: bool = False
    private: bool = False
    deprecated: bool = False
    aliases: tuple[str, ...] = ()
    decorators: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The last part of :attr:`path`."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def owner(self) -> str | None:
        """The dotted path of the class or module that holds it, if any."""
        return self.path.rsplit(".", 1)[0] if "." in self.path else None


@attrs.frozen
class SkippedModule:
    """A module left out of the reference, and why.

    Attributes:
        module: Its dotted path.
        reason: Why (``syntax error at line 3: ...``, ``over the size limit``, ``not loaded:
            outside the query on a very large package``, ``deadline``).
    """

    module: str
    reason: str


@attrs.frozen
class ApiIndex:
    """The public API of one version of one package, read from one released file.

    Attributes:
        name: Normalised package name.
        version: The exact version.
        artifact: The file it was read from.
        entries: The public objects (and private ones reachable from public ones), sorted by path.
        skipped: Modules left out, with the reason.
        modules_total: Importable modules in the artifact.
        modules_loaded: Modules parsed into ``entries``.
        has_docstrings: ``False`` when only stubs (``.pyi``) were available (compiled code).
        partial: Whether some modules were deliberately not loaded (a very large package read
            for one query, or the deadline): the answer must say so.
        notes: Plain notes for the reader (``No API reference can be extracted...``).
        stub_source: The ``types-<name>`` distribution the signatures came from, if any.

    .. versionadded:: 0.2.0
    """

    name: str
    version: str
    artifact: Artifact
    entries: tuple[ApiEntry, ...] = ()
    skipped: tuple[SkippedModule, ...] = ()
    modules_total: int = 0
    modules_loaded: int = 0
    has_docstrings: bool = True
    partial: bool = False
    notes: tuple[str, ...] = ()
    stub_source: str | None = None
