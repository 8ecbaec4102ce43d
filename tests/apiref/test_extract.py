"""Static API extraction from in-memory package sources (nothing imported or executed)."""

from __future__ import annotations

import sys
import textwrap
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodocs_core.apiref import (
    ApiEntry,
    ApiIndex,
    Artifact,
    ExtractLimits,
    extract_api,
)

WHEEL = Artifact(filename="pkg-1.0-py3-none-any.whl", url="https://files.example/pkg.whl")


def _src(text: str) -> bytes:
    return textwrap.dedent(text).lstrip("\n").encode()


def _extract(files: dict[str, str | bytes], **kwargs: object) -> ApiIndex:
    sources = {p: v if isinstance(v, bytes) else _src(v) for p, v in files.items()}
    return extract_api("pkg", "1.0", WHEEL, sources, **kwargs)  # type: ignore[arg-type]


def _entry(index: ApiIndex, path: str) -> ApiEntry:
    found = [e for e in index.entries if e.path == path]
    assert found, f"{path} not in {[e.path for e in index.entries]}"
    return found[0]


def _paths(index: ApiIndex) -> set[str]:
    return {e.path for e in index.entries}


HTTPX_LIKE = {
    "pkg/__init__.py": '''
        """A small HTTP package."""
        from ._client import Client, get
        from ._types import Mode as Mode
        from ._models import *

        __all__ = ["Client", "get", "Mode", "Response"]
    ''',
    "pkg/_client.py": '''
        from ._models import Response
        from ._types import Mode

        class Client:
            """An HTTP client.

            Args:
                timeout: Seconds to wait.
                mode: The mode.
            """

            def __init__(self, *, timeout: float = 5.0, mode: Mode = "a") -> None:
                self._timeout = timeout

            def get(self, url: str, *, params: dict | None = None) -> Response:
                """Send a GET request.

                Args:
                    url: Where to send it.
                    params: Query parameters.
                """

            @property
            def closed(self) -> bool:
                """Whether the client is closed."""

            def _internal(self) -> None: ...

        def get(url: str, **kwargs) -> Response:
            """Send a GET with a throwaway client."""
    ''',
    "pkg/_models.py": """
        __all__ = ["Response"]

        class Response:
            status_code: int
    """,
    "pkg/_types.py": """
        from typing import Literal, Optional, Union

        Mode = Literal["a", "b"]
        Timeout = Union[float, None]
        MaybeInt = Optional[int]
        MAX = 3
    """,
}


class TestReExports:
    def test_canonical_path_is_the_shortest_public_one(self) -> None:
        """A class defined in a private module gets its top-level path; the other is an alias."""
        index = _extract(HTTPX_LIKE)
        client = _entry(index, "pkg.Client")
        assert client.kind == "class"
        assert client.module == "pkg._client"
        assert client.exported is True
        assert client.private is False
        assert client.aliases == ("pkg._client.Client",)
        assert "pkg._client.Client" not in _paths(index)

    def test_members_follow_their_class_path(self) -> None:
        """Methods and properties of a re-exported class live under its public path."""
        index = _extract(HTTPX_LIKE)
        get = _entry(index, "pkg.Client.get")
        assert get.kind == "method"
        assert get.signature == "(url: str, *, params: dict | None = None) -> Response"
        assert get.exported is True
        assert _entry(index, "pkg.Client.closed").kind == "property"
        assert _entry(index, "pkg.Client.closed").returns == "bool"
        assert "pkg.Client._internal" not in _paths(index)

    def test_wildcard_and_as_imports_resolve(self) -> None:
        """``from ._models import *`` and ``import X as X`` re-exports resolve to definitions."""
        index = _extract(HTTPX_LIKE)
        assert _entry(index, "pkg.Response").module == "pkg._models"
        mode = _entry(index, "pkg.Mode")
        assert mode.kind == "type_alias"
        assert mode.value == "Literal['a', 'b']"

    def test_private_modules_and_their_objects_are_marked_private(self) -> None:
        """Objects reachable only under a private path are kept with ``private=True``."""
        index = _extract(HTTPX_LIKE)
        timeout = _entry(index, "pkg._types.Timeout")
        assert timeout.private is True
        assert timeout.exported is False
        assert timeout.kind == "type_alias"
        assert _entry(index, "pkg._types.MaybeInt").kind == "type_alias"
        assert _entry(index, "pkg._types.MAX").kind == "attribute"
        assert _entry(index, "pkg._client").kind == "module"

    def test_module_members_leave_out_foreign_imports(self) -> None:
        """A module's members are its ``__all__``, else its own public names and re-exports."""
        index = _extract(HTTPX_LIKE)
        assert _entry(index, "pkg").members == ("Client", "Mode", "Response", "get")
        assert _entry(index, "pkg._types").members == ("MAX", "MaybeInt", "Mode", "Timeout")

    def test_without_all_public_imported_names_are_exports(self) -> None:
        """With no ``__all__``, the package's public imported names are its exports."""
        index = _extract(
            {
                "pkg/__init__.py": "from .core import run, _hidden\n",
                "pkg/core.py": "def run(): ...\ndef _hidden(): ...\n",
            }
        )
        run = _entry(index, "pkg.run")
        assert run.exported is True
        assert run.aliases == ("pkg.core.run",)

    def test_ties_prefer_the_distributions_own_package(self) -> None:
        """Between equally short public paths, the one under the distribution's name wins."""
        index = _extract(
            {
                "alt/__init__.py": "from pkg._impl import make\n",
                "pkg/__init__.py": "from ._impl import make\n",
                "pkg/_impl.py": "def make(): ...\n",
            }
        )
        make = _entry(index, "pkg.make")
        assert make.aliases == ("alt.make", "pkg._impl.make")

    def test_chained_re_exports(self) -> None:
        """A name re-exported through two packages resolves to its definition."""
        index = _extract(
            {
                "pkg/__init__.py": "from .api import Thing\n",
                "pkg/api/__init__.py": "from ._impl import Thing\n",
                "pkg/api/_impl.py": "class Thing:\n    def go(self) -> int: ...\n",
            }
        )
        thing = _entry(index, "pkg.Thing")
        assert thing.module == "pkg.api._impl"
        assert set(thing.aliases) == {"pkg.api.Thing", "pkg.api._impl.Thing"}
        assert _entry(index, "pkg.Thing.go").signature == "() -> int"


class TestClassSignatures:
    def test_attrs_fields_are_constructor_parameters(self) -> None:
        """Attrs classes (define / frozen / attr.s + attr.ib) get their fields as parameters."""
        index = _extract(
            {
                "pkg/__init__.py": """
                    import attr
                    import attrs

                    @attrs.define
                    class Point:
                        x: int
                        _y: int = 0
                        tags: list = attrs.field(factory=list)
                        extra: str = attrs.field(default="e", kw_only=True)
                        cache: dict = attrs.field(init=False)

                    @attrs.frozen
                    class Frozen:
                        a: str

                    @attr.s
                    class Old:
                        a = attr.ib()
                        b = attr.ib(default=2)
                """
            }
        )
        assert _entry(index, "pkg.Point").signature == (
            "(x: int, y: int = 0, tags: list = list(), *, extra: str = 'e')"
        )
        assert _entry(index, "pkg.Frozen").signature == "(a: str)"
        assert _entry(index, "pkg.Old").signature == "(a, b=2)"

    def test_dataclass_fields_and_kw_only(self) -> None:
        """Dataclass fields (with ``field()`` defaults and ``kw_only``) are the parameters."""
        index = _extract(
            {
                "pkg/__init__.py": """
                    from dataclasses import dataclass, field
                    from typing import ClassVar

                    @dataclass(frozen=True)
                    class Conf:
                        a: int
                        b: str = "q"
                        c: list[int] = field(default_factory=list)
                        registry: ClassVar[dict] = {}

                    @dataclass(kw_only=True)
                    class Options:
                        verbose: bool = False

                    @dataclass
                    class Child(Conf):
                        d: float = 1.0
                """
            }
        )
        assert (
            _entry(index, "pkg.Conf").signature == "(a: int, b: str = 'q', c: list[int] = list())"
        )
        assert _entry(index, "pkg.Options").signature == "(*, verbose: bool = False)"
        assert _entry(index, "pkg.Child").signature == (
            "(a: int, b: str = 'q', c: list[int] = list(), d: float = 1.0)"
        )

    def test_pydantic_fields_are_keyword_only_with_aliases(self) -> None:
        """Pydantic models: fields (inherited too) as keyword-only parameters, aliases honoured."""
        index = _extract(
            {
                "pkg/__init__.py": '''
                    from pydantic import BaseModel, ConfigDict, Field

                    class Base(BaseModel):
                        model_config = ConfigDict(frozen=True)
                        id: int

                    class User(Base):
                        """A user.

                        Attributes:
                            name: The name.
                        """
                        name: str = Field(..., description="The name")
                        age: int = Field(0, ge=0)
                        tags: list[str] = Field(default_factory=list, alias="labels")
                '''
            }
        )
        user = _entry(index, "pkg.User")
        assert user.signature == (
            "(*, id: int, name: str, age: int = 0, labels: list[str] = list())"
        )

    def test_namedtuple_and_typeddict(self) -> None:
        """NamedTuple fields are positional parameters; TypedDict keys keyword-only."""
        index = _extract(
            {
                "pkg/__init__.py": """
                    from typing import NamedTuple, TypedDict

                    class Pair(NamedTuple):
                        left: int
                        right: int = 0

                    class Opts(TypedDict, total=False):
                        depth: int
                """
            }
        )
        assert _entry(index, "pkg.Pair").signature == "(left: int, right: int = 0)"
        assert _entry(index, "pkg.Opts").signature == "(*, depth: int)"

    def test_inherited_init_is_the_constructor(self) -> None:
        """A class without ``__init__`` takes its base class's (from another module)."""
        index = _extract(
            {
                "pkg/__init__.py": "from ._base import Base\n\nclass Sub(Base):\n    pass\n",
                "pkg/_base.py": (
                    "class Base:\n    def __init__(self, url: str, /, retries=3): ...\n"
                ),
            }
        )
        assert _entry(index, "pkg.Sub").signature == "(url: str, /, retries=3)"


class TestStubs:
    def test_stub_signatures_merge_with_source_docstrings(self) -> None:
        """With ``.py`` and ``.pyi``: the signature from the stub, the docstring from the source."""
        index = _extract(
            {
                "pkg/__init__.py": '''
                    def scale(x, factor=2):
                        """Scale a number.

                        Args:
                            x: The number.
                        """
                ''',
                "pkg/__init__.pyi": "def scale(x: float, factor: float = 2) -> float: ...\n",
            }
        )
        scale = _entry(index, "pkg.scale")
        assert scale.signature == "(x: float, factor: float = 2) -> float"
        assert scale.docstring is not None and scale.docstring.startswith("Scale a number.")
        assert scale.parameters[0].description == "The number."
        assert index.has_docstrings is True

    def test_overloads_in_stubs_are_kept(self) -> None:
        """Stub overloads (module and class level, no implementation) become ``overloads``."""
        index = _extract(
            {
                "pkg/__init__.pyi": """
                    from typing import overload

                    @overload
                    def parse(x: int) -> int: ...
                    @overload
                    def parse(x: str) -> str: ...

                    class Box:
                        @overload
                        def get(self, key: int) -> int: ...
                        @overload
                        def get(self, key: str, default: str = ...) -> str: ...
                """
            }
        )
        parse = _entry(index, "pkg.parse")
        assert parse.kind == "function"
        assert parse.overloads == ("(x: int) -> int", "(x: str) -> str")
        get = _entry(index, "pkg.Box.get")
        assert get.kind == "method"
        assert get.overloads == ("(key: int) -> int", "(key: str, default: str = ...) -> str")
        assert "get" in _entry(index, "pkg.Box").members

    def test_stub_overloads_of_a_compiled_function_survive_merging(self) -> None:
        """Overload-only stub functions missing from the source (C code) are kept when merging."""
        index = _extract(
            {
                "pkg/__init__.py": "from ._core import *\n",
                "pkg/_core.py": '"""Core."""\nfrom ._native import *\n',
                "pkg/_core.pyi": (
                    "from typing import overload\n"
                    "@overload\ndef array(x: int) -> list[int]: ...\n"
                    "@overload\ndef array(x: str) -> list[str]: ...\n"
                ),
            }
        )
        array = _entry(index, "pkg.array")
        assert array.module == "pkg._core"
        assert array.overloads == ("(x: int) -> list[int]", "(x: str) -> list[str]")
        assert array.exported is True

    def test_overloads_in_sources_are_kept(self) -> None:
        """Overloads written above an implementation in a ``.py`` are kept on it."""
        index = _extract(
            {
                "pkg/__init__.py": """
                    from typing import overload

                    @overload
                    def f(x: int) -> int: ...
                    @overload
                    def f(x: str) -> str: ...
                    def f(x):
                        return x
                """
            }
        )
        assert _entry(index, "pkg.f").overloads == ("(x: int) -> int", "(x: str) -> str")

    def test_stubs_only_package_has_no_docstrings(self) -> None:
        """Compiled, ``.pyi`` stubs only: signatures, ``has_docstrings=False`` and a note."""
        index = _extract(
            {
                "pkg/__init__.pyi": "def fast(n: int) -> int: ...\n",
                "pkg/_core.cpython-311-x86_64-linux-gnu.so": b"\x7fELF\x00\x00",
            }
        )
        assert _entry(index, "pkg.fast").signature == "(n: int) -> int"
        assert index.has_docstrings is False
        assert any("no docstrings" in note for note in index.notes)

    def test_nothing_to_read_says_so_plainly(self) -> None:
        """Neither sources nor stubs: no entries and a plain note."""
        index = _extract({"pkg/_core.cpython-311-x86_64-linux-gnu.so": b"\x7fELF"})
        assert index.entries == ()
        assert index.modules_total == 0
        assert any("No API reference can be extracted" in note for note in index.notes)

    def test_stub_source_is_recorded(self) -> None:
        """Signatures read from a ``types-<name>`` distribution name it and carry no docstrings."""
        index = _extract(
            {"pkg-stubs/__init__.pyi": "def f() -> None: ...\n"}, stub_source="types-pkg"
        )
        assert index.stub_source == "types-pkg"
        assert index.has_docstrings is False
        assert _entry(index, "pkg.f").signature == "() -> None"


class TestBrokenModules:
    def test_new_syntax_is_skipped_not_fatal(self) -> None:
        """A module using syntax the running Python lacks (PEP 701 f-strings) is skipped."""
        index = _extract(
            {
                "pkg/__init__.py": "from .ok import good\n",
                "pkg/ok.py": "def good() -> int: ...\n",
                "pkg/new.py": 'NAME = f"{"nested"}"\n',
            }
        )
        assert "pkg.good" in _paths(index)
        if sys.version_info < (3, 12):
            reasons = {s.module: s.reason for s in index.skipped}
            assert reasons["pkg.new"].startswith("syntax error at line 1")
            assert index.modules_loaded == 2
        else:  # pragma: no cover - the running Python knows PEP 701
            assert "pkg.new.NAME" in _paths(index)

    def test_pep_695_stubs_are_read_on_older_pythons(self) -> None:
        """``type X = ...``, ``def f[T]`` and ``class C[T]`` in stubs still give signatures."""
        index = _extract(
            {
                "pkg/__init__.pyi": """
                    from typing import Literal

                    type Mode = Literal["r", "w"]
                    type Pair[T: (int, str)] = tuple[T, T]

                    def first[T](items: list[T], /, mode: Mode = "r") -> T: ...

                    class Box[T = int](Base[T]):
                        def get[S](self, key: S) -> T: ...
                """
            }
        )
        assert _entry(index, "pkg.Mode").kind == "type_alias"
        assert _entry(index, "pkg.Mode").value == "Literal['r', 'w']"
        assert _entry(index, "pkg.first").signature == "(items: list[T], /, mode: Mode = 'r') -> T"
        assert _entry(index, "pkg.Box").bases == ("Base[T]",)
        assert _entry(index, "pkg.Box.get").signature == "(key: S) -> T"
        assert index.skipped == ()

    def test_a_broken_init_does_not_sink_the_package(self) -> None:
        """A package whose ``__init__.py`` does not parse still yields its submodules."""
        index = _extract(
            {
                "pkg/__init__.py": "from .core import *\ndef broken(:\n",
                "pkg/core.py": (
                    "def run(x: int) -> None:\n    match = 1\n    match x:\n        case 1: pass\n"
                ),
                "pkg/misuse.py": "match x:\n    case:\n        pass\n",
            }
        )
        assert [s.module for s in index.skipped] == ["pkg", "pkg.misuse"]
        assert _entry(index, "pkg.core.run").signature == "(x: int) -> None"
        assert index.modules_total == 3
        assert index.modules_loaded == 1

    def test_a_broken_stub_keeps_the_source_with_a_note(self) -> None:
        """When only the ``.pyi`` of a pair fails, the ``.py`` is read and a note says so."""
        index = _extract(
            {
                "pkg/__init__.py": "def f(x: int) -> int:\n    return x\n",
                "pkg/__init__.pyi": "def f(x: int -> int: ...\n",
            }
        )
        assert _entry(index, "pkg.f").signature == "(x: int) -> int"
        assert index.skipped == ()
        assert any("pkg (stub unreadable: syntax error" in note for note in index.notes)

    def test_undecodable_bytes_are_skipped(self) -> None:
        """Bytes that are not valid in the declared (or default UTF-8) encoding skip the module."""
        index = _extract(
            {
                "pkg/__init__.py": "X = 1\n",
                "pkg/bad.py": b"x = '\xff\xfe\xfa'\n",
                "pkg/latin.py": b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\n",
                "pkg/unknown.py": b"# -*- coding: no-such-codec -*-\nX = 1\n",
            }
        )
        reasons = {s.module: s.reason for s in index.skipped}
        assert reasons["pkg.bad"].startswith("undecodable bytes")
        assert "pkg.unknown" in reasons
        assert _entry(index, "pkg.latin.NAME").value == "'é'"


class TestDocstrings:
    @pytest.mark.parametrize(
        "doc",
        [
            "Do it.\n\nArgs:\n    count: How many times.\n",
            "Do it.\n\nParameters\n----------\ncount : int\n    How many times.\n",
            "Do it.\n\n:param count: How many times.\n",
        ],
        ids=["google", "numpy", "sphinx"],
    )
    def test_parameter_descriptions_in_any_style(self, doc: str) -> None:
        """Google, NumPy and Sphinx parameter items become ``Parameter.description``."""
        quoted = '"""' + doc + '"""'
        code = f"def act(count: int = 1) -> None:\n{textwrap.indent(quoted, '    ')}\n"
        index = _extract({"pkg/__init__.py": code})
        assert _entry(index, "pkg.act").parameters[0].description == "How many times."

    def test_long_docstrings_keep_summary_params_and_first_example(self) -> None:
        """A long docstring is cut to its summary, parameter items and first example."""
        filler = "\n\n".join(f"Paragraph {i} " + "words " * 40 for i in range(20))
        doc = (
            f"Fetch a page.\n\n{filler}\n\nArgs:\n    url: The URL.\n    retries: How often.\n\n"
            f"Examples:\n    >>> fetch('x')\n    'page'\n\n{filler}\n\n"
            "Examples:\n    >>> second()\n"
        )
        code = f'def fetch(url, retries=1):\n    """{doc}"""\n'
        limits = ExtractLimits(max_docstring_chars=400)
        entry = _entry(_extract({"pkg/__init__.py": code}, limits=limits), "pkg.fetch")
        assert entry.docstring is not None
        assert len(entry.docstring) <= 400
        assert entry.docstring.startswith("Fetch a page.")
        assert "url: The URL." in entry.docstring
        assert ">>> fetch('x')" in entry.docstring
        assert "second()" not in entry.docstring
        assert "Paragraph 3" not in entry.docstring

    @pytest.mark.parametrize(
        ("code", "deprecated"),
        [
            (
                "from typing_extensions import deprecated\n@deprecated('use g')\ndef f(): ...\n",
                True,
            ),
            ("import warnings\n@warnings.deprecated('no')\ndef f(): ...\n", True),
            ('def f():\n    """Do.\n\n    .. deprecated:: 2.0\n       Use g.\n    """\n', True),
            ('def f():\n    """Deprecated: use g."""\n', True),
            ('def f():\n    """Replaces the deprecated g."""\n', False),
        ],
    )
    def test_deprecation_markers(self, code: str, deprecated: bool) -> None:
        """``@deprecated`` decorators and docstring markers set ``deprecated``."""
        assert _entry(_extract({"pkg/__init__.py": code}), "pkg.f").deprecated is deprecated


class TestTypeAliases:
    def test_explicit_and_inferred_aliases(self) -> None:
        """``X: TypeAlias = ...`` and module-level ``Literal``/``Union``/``|`` values: aliases."""
        index = _extract(
            {
                "pkg/__init__.py": """
                    from typing import Literal, TypeAlias, TypeVar, Union

                    Explicit: TypeAlias = "int | str"
                    Kind = Literal["fast", "slow"]
                    Either = Union[int, str]
                    Maybe = int | None
                    T = TypeVar("T")
                    LIMIT = 10
                """
            }
        )
        for name in ("Explicit", "Kind", "Either", "Maybe"):
            assert _entry(index, f"pkg.{name}").kind == "type_alias"
        assert _entry(index, "pkg.Kind").value == "Literal['fast', 'slow']"
        assert "pkg.T" not in _paths(index)
        assert _entry(index, "pkg.LIMIT").kind == "attribute"


class TestPartialAndBounds:
    LARGE: ClassVar[dict[str, str]] = {
        "pkg/__init__.py": "from .nn import Linear\n",
        "pkg/nn/__init__.py": "from .modules import Linear\n",
        "pkg/nn/modules.py": "class Linear:\n    def __init__(self, n: int): ...\n",
        "pkg/fft.py": "def rfft(x): ...\n",
        "pkg/linalg/__init__.py": "def solve(a, b): ...\n",
        "pkg/linalg/_impl.py": "def lstsq(a, b): ...\n",
    }

    def test_wanted_loads_matching_modules_and_the_init_chain(self) -> None:
        """With ``wanted``, only matching modules and the ``__init__`` chain above them load."""
        index = _extract(self.LARGE, wanted=["pkg.linalg.lstsq"])
        assert index.partial is True
        loaded = {e.module for e in index.entries}
        assert loaded == {"pkg", "pkg.linalg", "pkg.linalg._impl"}
        reasons = {s.module: s.reason for s in index.skipped}
        assert set(reasons) == {"pkg.nn", "pkg.nn.modules", "pkg.fft"}
        assert all(r.startswith("not loaded") for r in reasons.values())

    def test_wanted_identifier_finds_its_defining_module(self) -> None:
        """A bare identifier loads the module that defines it, so the re-export resolves."""
        index = _extract(self.LARGE, wanted=["Linear"])
        linear = _entry(index, "pkg.Linear")
        assert linear.module == "pkg.nn.modules"
        assert linear.signature == "(n: int)"
        assert "pkg.fft" in {s.module for s in index.skipped}

    def test_should_stop_ends_the_walk_between_modules(self) -> None:
        """When ``should_stop`` answers True, the remaining modules are skipped as ``deadline``."""
        calls = []

        def stop() -> bool:
            calls.append(1)
            return len(calls) > 2

        index = _extract(self.LARGE, should_stop=stop)
        assert index.partial is True
        assert index.modules_loaded == 2
        assert {s.reason for s in index.skipped} == {"deadline"}
        assert len(index.skipped) == index.modules_total - 2

    def test_a_five_megabyte_module_is_skipped(self) -> None:
        """A module over the byte limit is skipped without being parsed."""
        huge = b"X = 1\n" + b"# padding\n" * 500_000
        index = _extract({"pkg/__init__.py": "A = 1\n", "pkg/huge.py": huge})
        reasons = {s.module: s.reason for s in index.skipped}
        assert reasons["pkg.huge"].startswith("over the size limit")
        assert "pkg.A" in _paths(index)

    def test_a_hundred_thousand_names_stay_bounded(self) -> None:
        """A module with 100k names reads a bounded number of statements and keeps few entries."""
        code = "".join(f"n{i:x}=0\n" for i in range(100_000)).encode()
        limits = ExtractLimits(max_module_nodes=2_000, max_entries=500)
        index = _extract({"pkg/__init__.py": code}, limits=limits)
        assert len(index.entries) == 500
        assert len(_entry(index, "pkg").members) <= 200
        assert any("statements were read" in note for note in index.notes)
        assert any("500 objects" in note for note in index.notes)

    def test_module_limit(self) -> None:
        """Past ``max_modules``, the rest are skipped and the index is partial."""
        files = {f"pkg/m{i}.py": f"def f{i}(): ...\n" for i in range(10)}
        index = _extract(files, limits=ExtractLimits(max_modules=3))
        assert index.modules_loaded == 3
        assert index.partial is True
        assert sum(s.reason == "over the module limit" for s in index.skipped) == 7

    def test_signatures_are_bounded(self) -> None:
        """A huge signature is cut to the limit."""
        params = ", ".join(f"p{i}: int = {i}" for i in range(2_000))
        index = _extract(
            {"pkg/__init__.py": f"def f({params}): ...\n"},
            limits=ExtractLimits(max_signature_chars=300),
        )
        signature = _entry(index, "pkg.f").signature
        assert signature is not None and len(signature) <= 300


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_an_entry_list_or_a_skip(code: str) -> None:
    """Arbitrary text as a module never raises: it loads, or it is skipped with a reason."""
    index = _extract({"pkg/__init__.py": code.encode("utf-8", "surrogatepass")})
    assert index.modules_total == 1
    assert index.modules_loaded + len(index.skipped) == 1
    for entry in index.entries:
        assert entry.path.startswith("pkg")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "def f(x): ...",
                "class C:\n    def m(self): ...",
                "from . import *",
                "from .b import *",
                "from .a import f as g",
                "__all__ = ['f', 'g', 'C', 'missing']",
                "import pkg.a as a",
                "x: int = 1",
                "async def h(*a, **k): ...",
                "@overload\ndef f(x: int) -> int: ...",
                "if TYPE_CHECKING:\n    from .b import C",
            ]
        ),
        max_size=8,
    ),
    st.lists(st.sampled_from(["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]), min_size=1),
)
def test_any_import_graph_resolves_without_error(lines: list[str], files: list[str]) -> None:
    """Cyclic, wildcard and dangling re-exports never raise and never loop."""
    sources = {path: "\n".join(lines) for path in files}
    index = _extract(sources)  # type: ignore[arg-type]
    assert index.modules_loaded == len(set(files))
    assert len({e.path for e in index.entries}) == len(index.entries)
