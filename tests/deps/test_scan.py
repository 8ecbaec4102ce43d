"""Dependency scanning: every format, broken files, includes, and path confinement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.deps import Dependency, poetry_constraint, scan_dependencies
from autodocs_core.deps._parsers import parse_requirement, split_requirement_lines
from autodocs_core.errors import InvalidInputError

PY312 = {"python_version": "3.12", "python_full_version": "3.12.1", "sys_platform": "linux"}


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(deps: tuple[Dependency, ...], group: str | None = None) -> list[str]:
    return [d.name for d in deps if group is None or d.group == group]


PYPROJECT = """
[project]
name = "demo"
dependencies = [
  "httpx>=0.27",
  "Attrs[tests] ; python_version >= '3.11'",
  "tomli; python_version < '3.11'",
  "mylib @ git+https://user:tok@example.org/mylib.git",
  "not a requirement !!",
]
[project.optional-dependencies]
cli = ["rich>=13"]

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
loop-a = [{include-group = "loop-b"}]
loop-b = [{include-group = "loop-a"}]
"""


def test_pyproject_pep621_and_pep735(tmp_path: Path) -> None:
    """Runtime, extras and groups (with include-group) are read; bad lines and cycles reported."""
    write(tmp_path, "pyproject.toml", PYPROJECT)
    result = scan_dependencies(tmp_path, environment=PY312)
    deps = result.succeeded
    assert names(deps, "runtime") == ["httpx", "attrs", "mylib"]
    attrs_dep = next(d for d in deps if d.name == "attrs")
    assert attrs_dep.extras == ("tests",) and attrs_dep.line == 6
    mylib = next(d for d in deps if d.name == "mylib")
    assert mylib.kind == "git" and mylib.location and "tok" not in mylib.location
    assert names(deps, "extra:cli") == ["rich"]
    assert names(deps, "group:test") == ["pytest", "ruff"]
    assert names(deps, "group:lint") == ["ruff"]
    errors = {f.key: f.error.error for f in result.failed}
    assert any("not a valid requirement" in m for m in errors.values())
    assert any("cycle" in m for m in errors.values())
    assert any("environment markers" in w for w in result.warnings)  # tomli left out


def test_poetry_tables_translate_caret_and_tilde(tmp_path: Path) -> None:
    """Poetry dependencies: ^ and ~ become PEP 440 ranges; python is not a dependency."""
    write(
        tmp_path,
        "pyproject.toml",
        """
[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31"
pendulum = {version = "~2.1", extras = ["test"]}
local = {path = "../local"}
[tool.poetry.group.dev.dependencies]
black = "*"
""",
    )
    deps = {d.name: d for d in scan_dependencies(tmp_path).succeeded}
    assert deps["requests"].constraint == ">=2.31,<3"
    assert deps["pendulum"].constraint == ">=2.1,<2.2" and deps["pendulum"].extras == ("test",)
    assert deps["local"].kind == "path"
    assert deps["black"].group == "group:dev" and deps["black"].constraint == ""
    assert "python" not in deps


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^1.2.3", ">=1.2.3,<2"),
        ("^0.2.3", ">=0.2.3,<0.3"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0", ">=0,<1"),
        ("~1.2.3", ">=1.2.3,<1.3"),
        ("~1", ">=1,<2"),
        ("1.4", "==1.4"),
        (">=1,<3", ">=1,<3"),
        ("*", ""),
    ],
)
def test_poetry_constraint(poetry: str, pep440: str) -> None:
    """Poetry's operators follow its documented semantics."""
    assert poetry_constraint(poetry) == pep440


def test_dynamic_dependencies_are_reported(tmp_path: Path) -> None:
    """'dynamic' dependencies cannot be known statically: said, not guessed."""
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\ndynamic = ["dependencies"]\n')
    result = scan_dependencies(tmp_path)
    assert result.succeeded == ()
    assert any("dynamic" in w for w in result.warnings)


REQS = """\
# a comment
httpx>=0.27 \\
    --hash=sha256:abc
-r base.txt
-c constraints.txt
-e git+https://example.org/x.git#egg=xpkg
--index-url https://user:pw@mirror.example/simple
./local-dir
requests[socks] ; sys_platform == "win32"
pip install numpy
"""


def test_requirements_with_includes_options_and_markers(tmp_path: Path) -> None:
    """-r/-c followed, hashes and options skipped, -e and URLs reported, markers evaluated."""
    write(tmp_path, "requirements.txt", REQS)
    write(tmp_path, "base.txt", "anyio>=4\n-r requirements.txt\n")
    write(tmp_path, "constraints.txt", "idna==3.7\n")
    result = scan_dependencies(tmp_path / "requirements.txt", environment=PY312)
    deps = {d.name: d for d in result.succeeded}
    assert deps["httpx"].constraint == ">=0.27" and deps["httpx"].line == 2
    assert deps["anyio"].source == "base.txt"
    assert deps["idna"].group == "constraints"
    assert deps["xpkg"].kind == "editable"
    assert "requests" not in deps  # win32 only
    messages = " ".join(f.error.error for f in result.failed)
    assert "include cycle" in messages
    assert "requirements.txt:10" in messages  # 'pip install numpy'
    assert any("local-dir" in w for w in result.warnings)
    assert "pw" not in str(result)


def test_uv_lock_pylock_and_setup_cfg(tmp_path: Path) -> None:
    """Lock files list pinned packages (not the project itself); setup.cfg is read, not run."""
    write(
        tmp_path,
        "uv.lock",
        """
version = 1
[[package]]
name = "demo"
version = "0.1.0"
source = { editable = "." }
[[package]]
name = "AnyIO"
version = "4.16.0"
source = { registry = "https://pypi.org/simple" }
""",
    )
    write(
        tmp_path,
        "pylock.toml",
        """
lock-version = "1.0"
[[packages]]
name = "idna"
version = "3.10"
[[packages]]
name = "mygit"
vcs = { type = "git", url = "https://example.org/mygit.git" }
""",
    )
    write(
        tmp_path,
        "setup.cfg",
        """
[options]
install_requires =
    click>=8
    # comment
[options.extras_require]
docs = sphinx
""",
    )
    write(tmp_path, "setup.py", "raise SystemExit('never executed')\n")
    deps = {(d.name, d.source): d for d in scan_dependencies(tmp_path).succeeded}
    assert deps[("anyio", "uv.lock")].constraint == "==4.16.0"
    assert ("demo", "uv.lock") not in deps
    assert deps[("idna", "pylock.toml")].constraint == "==3.10"
    assert deps[("mygit", "pylock.toml")].kind == "git"
    assert deps[("click", "setup.cfg")].group == "runtime"
    assert deps[("sphinx", "setup.cfg")].group == "extra:docs"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", "[project\nname="),
        ("uv.lock", "[[package]\n"),
        ("setup.cfg", "no section header\n"),
    ],
)
def test_broken_files_are_reported_not_fatal(tmp_path: Path, name: str, text: str) -> None:
    """Unparseable files become failures with the file name and a suggestion."""
    write(tmp_path, name, text)
    write(tmp_path, "requirements.txt", "attrs\n")
    result = scan_dependencies(tmp_path)
    assert names(result.succeeded) == ["attrs"]
    assert result.failed and result.failed[0].key.startswith(name)
    assert result.failed[0].error.suggestions


class TestConfinement:
    def test_symlink_outside_the_root_is_refused_without_echoing(self, tmp_path: Path) -> None:
        """A requirements file linking outside the root is refused; its content is not shown."""
        outside = write(tmp_path, "outside/secret.txt", "SECRET-TOKEN-123\n")
        project = tmp_path / "project"
        write(project, "requirements.txt", "-r evil.txt\nattrs\n")
        (project / "evil.txt").symlink_to(outside)
        result = scan_dependencies(project)
        assert names(result.succeeded) == ["attrs"]
        assert "SECRET" not in str(result)
        assert any("outside the allowed root" in f.error.error for f in result.failed)

    def test_path_outside_the_root_is_refused(self, tmp_path: Path) -> None:
        """Scanning a path outside the allowed root is an invalid-input error."""
        write(tmp_path, "a/requirements.txt", "attrs\n")
        (tmp_path / "b").mkdir()
        with pytest.raises(InvalidInputError, match="refused"):
            scan_dependencies(tmp_path / "a", root=tmp_path / "b")
        with pytest.raises(InvalidInputError, match="refused"):
            scan_dependencies(tmp_path / "b" / ".." / "a", root=tmp_path / "b")

    def test_symlink_loop_is_reported(self, tmp_path: Path) -> None:
        """A symlink loop is reported, not followed forever."""
        (tmp_path / "requirements-loop.txt").symlink_to(tmp_path / "requirements-loop.txt")
        write(tmp_path, "requirements.txt", "attrs\n")
        result = scan_dependencies(tmp_path)
        assert any("loop" in f.error.error for f in result.failed)

    def test_fifo_does_not_block(self, tmp_path: Path) -> None:
        """A FIFO named like a requirements file is refused at once (never opened to wait)."""
        os.mkfifo(tmp_path / "requirements-dev.txt")
        write(tmp_path, "requirements.txt", "attrs\n")
        result = scan_dependencies(tmp_path)
        assert any("not a regular file" in f.error.error for f in result.failed)

    def test_huge_and_binary_files_are_refused(self, tmp_path: Path) -> None:
        """Files over the cap (checked before reading) and binary files are refused."""
        (tmp_path / "requirements-big.txt").write_bytes(b"a\n" * (3 * 1024 * 1024))
        (tmp_path / "requirements-bin.txt").write_bytes(b"attrs\x00\x01\x02")
        write(tmp_path, "requirements.txt", "attrs\n")
        messages = [f.error.error for f in scan_dependencies(tmp_path).failed]
        assert any("larger than" in m for m in messages)
        assert any("binary" in m for m in messages)

    def test_missing_path_and_empty_directory(self, tmp_path: Path) -> None:
        """A missing path or a directory without dependency files is a clear error."""
        with pytest.raises(InvalidInputError):
            scan_dependencies(tmp_path / "nope")
        with pytest.raises(InvalidInputError, match="No dependency file"):
            scan_dependencies(tmp_path)


@given(
    name=st.from_regex(r"\A[A-Za-z][A-Za-z0-9._-]{0,20}[A-Za-z0-9]\Z"),
    spec=st.sampled_from(["", ">=1", "==2.0.1", "<3,>=1.5", "~=1.4", "!=1.0"]),
    extras=st.lists(st.from_regex(r"\A[a-z][a-z0-9]{0,6}\Z"), max_size=2, unique=True),
    marker=st.sampled_from(["", "python_version >= '3.8'", "sys_platform == 'linux'"]),
)
def test_requirement_lines_round_trip(name: str, spec: str, extras: list[str], marker: str) -> None:
    """Any valid requirement line parses to its normalised name, specifier, extras and marker."""
    line = (
        name
        + (f"[{','.join(extras)}]" if extras else "")
        + spec
        + (f" ; {marker}" if marker else "")
    )
    dep = parse_requirement(line, source="r.txt", line=1, group="runtime")
    assert isinstance(dep, Dependency)
    assert dep.name == dep.name.lower() and "_" not in dep.name
    assert dep.extras == tuple(sorted(extras))
    assert (dep.markers is None) == (not marker)


@given(st.text(max_size=200))
def test_arbitrary_lines_never_crash(text: str) -> None:
    """Any text splits into logical lines and parses to a dependency or a problem."""
    for number, line in split_requirement_lines(text):
        assert number >= 1
        parse_requirement(line, source="r.txt", line=number, group="runtime")
