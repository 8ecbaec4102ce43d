"""Hostile files and clients: nothing leaks, work is bounded and linear, cancellation stops."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autodocs_core.deps
from autodocs_core.deps import ScanLimits, check_scan_root, scan_dependencies
from autodocs_core.deps import _files as files_module
from autodocs_core.errors import InvalidInputError
from autodocs_core.resilience import PartialResult

DEPS_DIR = str(Path(autodocs_core.deps.__file__).parent)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def shown(result: PartialResult[Any]) -> str:
    """Everything a client could see of a scan result."""
    return json.dumps(
        {
            "deps": [str(d) for d in result.succeeded],
            "failed": [f.error.to_payload() for f in result.failed],
            "warnings": list(result.warnings),
        }
    )


def work(fn: Callable[[], object]) -> int:
    """Python lines executed inside autodocs_core.deps while *fn* runs (a work counter)."""
    count = 0

    def local(frame: Any, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: Any, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(DEPS_DIR) else None

    old = sys.gettrace()
    sys.settrace(global_)
    try:
        fn()
    finally:
        sys.settrace(old)
    return count


SECRET_FILE = "DB_PASSWORD=hunter2hunter2\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG\nhello\n"


# -- class 1: only dependency files, by name and content --------------------------------------


@pytest.mark.parametrize("name", [".env", "config.ini", "id_rsa", "settings.py", "notes"])
def test_a_non_dependency_file_is_refused_unread(tmp_path: Path, name: str) -> None:
    """A path to a file that is not a dependency file by name is refused, nothing echoed."""
    write(tmp_path, name, SECRET_FILE)
    with pytest.raises(InvalidInputError) as info:
        scan_dependencies(tmp_path / name)
    payload = json.dumps(info.value.to_payload())
    assert "hunter2" not in payload and "wJalr" not in payload and "hello" not in payload


def test_a_txt_file_that_is_not_requirements_is_refused_whole(tmp_path: Path) -> None:
    """A .txt whose lines are mostly not requirements is refused; no line is quoted."""
    write(tmp_path, "requirements-secrets.txt", SECRET_FILE)
    write(tmp_path, "requirements.txt", "attrs\n")
    result = scan_dependencies(tmp_path)
    assert [d.name for d in result.succeeded] == ["attrs"]
    text = shown(result)
    assert "hunter2" not in text and "wJalr" not in text and "hello" not in text
    assert any("not a requirements file" in f.error.error for f in result.failed)


def test_includes_of_non_requirement_names_are_refused(tmp_path: Path) -> None:
    """-r .env or -r config.ini is not followed (by name), and nothing of it is shown."""
    write(tmp_path, ".env", "hunter2hunter2\n")
    write(tmp_path, "config.ini", "[x]\npassword = hunter2hunter2\n")
    write(tmp_path, "requirements.txt", "-r .env\n-r config.ini\nattrs\n")
    result = scan_dependencies(tmp_path)
    assert [d.name for d in result.succeeded] == ["attrs"]
    assert "hunter2" not in shown(result)
    assert sum("not a requirements file by name" in f.error.error for f in result.failed) == 2


def test_a_bad_line_is_quoted_short_and_redacted(tmp_path: Path) -> None:
    """A failure quotes at most ~40 characters of the line, credentials and keys redacted."""
    bad = "pkg @ https://alice:s3cr3tpassw0rd@host.example/p.whl?token=tok3n999 ; ((( " + "x" * 200
    write(tmp_path, "requirements.txt", f"attrs\nhttpx\n{bad}\n")
    result = scan_dependencies(tmp_path)
    (failure,) = result.failed
    assert len(failure.error.details["text"]) <= 41
    text = shown(result)
    assert "s3cr3t" not in text and "tok3n999" not in text
    assert "x" * 50 not in text


@given(secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=20))
def test_credentials_in_unparsable_requirement_urls_never_come_back(secret: str) -> None:
    """For any secret in user:secret@ or ?token=, a failed line's payload does not hold it."""
    from autodocs_core.deps._parsers import Problem, parse_requirements_text

    assume(secret not in "pkg @ https://bob:@h.example/p.whl?a=1&token= ;;; bad")
    text = (
        f"pkg @ https://bob:{secret}@h.example/p.whl ;;; bad\n"
        f"other @ https://h.example/p.whl?a=1&token={secret} ;;; bad\n"
        f"-e https://bob:{secret}@h.example/repo.git\n"
    )
    result = parse_requirements_text(
        text, source="r.txt", group="runtime", include=lambda *_: pytest.fail("no include")
    )
    assert len(result.problems) == 2 and all(isinstance(p, Problem) for p in result.problems)
    assert secret not in repr(result.problems) + repr(result.notes)


class TestScanRoots:
    @pytest.mark.parametrize("root", ["/", "/etc", "/usr", "/proc/self", "/dev", "/var"])
    def test_system_directories_are_refused(self, root: str) -> None:
        """The file system root and system directories are refused as scan roots."""
        if not Path(root).exists():
            pytest.skip(f"{root} does not exist here")
        with pytest.raises(InvalidInputError, match="too broad") as info:
            check_scan_root(root, allow_broad=False, home="/nonexistent-home")
        assert info.value.details["setting"] == "AUTODOCS_ALLOW_BROAD_ROOTS"

    def test_a_home_directory_as_a_whole_is_refused(self, tmp_path: Path) -> None:
        """A home directory (and its parent) is refused; a project inside it is fine."""
        home = tmp_path / "home" / "me"
        project = home / "src" / "project"
        project.mkdir(parents=True)
        for broad in (home, home.parent):
            with pytest.raises(InvalidInputError, match="too broad"):
                check_scan_root(broad, allow_broad=False, home=home)
        assert check_scan_root(project, allow_broad=False, home=home) == project.resolve()

    def test_the_operator_may_allow_broad_roots(self, tmp_path: Path) -> None:
        """With allow_broad, any existing directory is accepted; a missing one never is."""
        assert check_scan_root("/", allow_broad=True) == Path("/")
        with pytest.raises(InvalidInputError, match="does not exist"):
            check_scan_root(tmp_path / "nope", allow_broad=True)


# -- class 4: bounded, linear work; partial results; cancellation ------------------------------


def test_fan_out_includes_read_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file including the next four times: 7 reads, not 4**6."""
    depth = 6
    for i in range(depth):
        write(tmp_path, f"r{i}.txt", f"pkg{i}\n" + f"-r r{i + 1}.txt\n" * 4)
    write(tmp_path, f"r{depth}.txt", "last\n")
    reads: list[Path] = []
    real = files_module.SafeReader.read_text

    def counting(self: files_module.SafeReader, path: Path) -> str:
        reads.append(path)
        return real(self, path)

    monkeypatch.setattr(files_module.SafeReader, "read_text", counting)
    result = scan_dependencies(tmp_path / "r0.txt")
    assert {d.name for d in result.succeeded} == {f"pkg{i}" for i in range(depth)} | {"last"}
    assert len(reads) == depth + 1


def _doubling_groups(levels: int) -> str:
    lines = ["[dependency-groups]"]
    for i in range(levels):
        inc = f'{{include-group = "g{i + 1}"}}'
        lines.append(f'g{i} = ["p{i}", {inc}, {inc}]')
    lines.append(f'g{levels} = ["p{levels}"]')
    return "\n".join(lines) + "\n"


def test_include_group_chains_that_double_per_level_stay_polynomial(tmp_path: Path) -> None:
    """Twice the levels of a doubling include-group chain costs ~4x (quadratic output), not 2**L."""
    small, large = tmp_path / "small", tmp_path / "large"
    write(small, "pyproject.toml", _doubling_groups(6))
    write(large, "pyproject.toml", _doubling_groups(12))
    w_small = work(lambda: scan_dependencies(small))
    w_large = work(lambda: scan_dependencies(large))
    assert w_large < 6 * w_small, (w_small, w_large)
    deps = scan_dependencies(large).succeeded
    assert sorted(d.name for d in deps if d.group == "group:g0") == sorted(
        f"p{i}" for i in range(13)
    )


@pytest.mark.parametrize("fmt", ["pyproject", "requirements", "setup.cfg"])
def test_ten_times_the_dependencies_is_at_most_about_ten_times_the_work(
    tmp_path: Path, fmt: str
) -> None:
    """A long dependency list is parsed in linear time (a work counter, not the wall clock)."""

    def project(n: int) -> Path:
        root = tmp_path / f"{fmt}-{n}"
        names = [f"package-{i}>=1.{i}" for i in range(n)]
        if fmt == "pyproject":
            body = "[project]\ndependencies = [\n" + "".join(f'  "{x}",\n' for x in names) + "]\n"
            write(root, "pyproject.toml", body)
        elif fmt == "requirements":
            write(root, "requirements.txt", "".join(f"{x}\n" for x in names))
        else:
            body = "[options]\ninstall_requires =\n" + "".join(f"    {x}\n" for x in names)
            write(root, "setup.cfg", body)
        return root

    small, large = project(100), project(1000)
    w_small = work(lambda: scan_dependencies(small))
    w_large = work(lambda: scan_dependencies(large))
    assert len(scan_dependencies(large).succeeded) == 1000
    assert w_large < 12 * w_small, (w_small, w_large)


def test_a_scan_past_its_limits_returns_a_partial_result_that_says_so(tmp_path: Path) -> None:
    """Past max_lines the scan stops and keeps what it read, with a warning naming the cut."""
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["attrs"]\n')
    write(tmp_path, "requirements.txt", "".join(f"pkg{i}\n" for i in range(1000)))
    result = scan_dependencies(tmp_path, limits=ScanLimits(max_lines=100))
    assert [d.name for d in result.succeeded] == ["attrs"]
    assert any("cut short" in w and "100 lines" in w for w in result.warnings)


def test_a_scan_past_its_file_limit_stops(tmp_path: Path) -> None:
    """Past max_files the scan stops; the files read so far are kept."""
    for i in range(5):
        write(tmp_path, f"requirements-{i}.txt", f"pkg{i}\n")
    result = scan_dependencies(tmp_path, limits=ScanLimits(max_files=2))
    assert len(result.succeeded) == 2
    assert any("more than 2 files" in w for w in result.warnings)


def test_time_is_bounded_by_the_injected_clock(tmp_path: Path) -> None:
    """A clock that moves 1 s per poll cuts a scan allowed 5 s, without real waiting."""
    write(tmp_path, "requirements.txt", "".join(f"pkg{i}\n" for i in range(5000)))
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    result = scan_dependencies(
        tmp_path, limits=ScanLimits(max_seconds=5.0, poll_every=10), clock=clock
    )
    assert any("longer than 5 s" in w for w in result.warnings)
    assert now[0] < 10


class Stop(Exception):
    pass


def test_cancellation_stops_the_scan_within_a_poll_interval(tmp_path: Path) -> None:
    """The cancel check is polled every poll_every lines; once it raises, the scan stops."""
    write(tmp_path, "requirements.txt", "".join(f"pkg{i}\n" for i in range(100_000)))
    polls = 0
    lines_at_cancel: list[int] = []

    def cancel() -> None:
        nonlocal polls
        polls += 1
        if polls >= 3:
            lines_at_cancel.append(polls)
            raise Stop

    with pytest.raises(Stop):
        scan_dependencies(tmp_path, limits=ScanLimits(poll_every=16), cancel=cancel)
    assert polls == 3  # the first raise ended the scan: no poll after it


async def test_a_cancelled_scan_stops_its_worker_thread(tmp_path: Path) -> None:
    """Cancelling the caller's scope stops the thread at its next poll (bounded work)."""
    write(tmp_path, "requirements.txt", "".join(f"pkg{i}\n" for i in range(100_000)))
    polls = 0
    with anyio.CancelScope() as scope:

        def cancel() -> None:
            nonlocal polls
            polls += 1
            if polls == 3:
                anyio.from_thread.run_sync(scope.cancel)
            anyio.from_thread.check_cancelled()

        await anyio.to_thread.run_sync(
            lambda: scan_dependencies(tmp_path, limits=ScanLimits(poll_every=16), cancel=cancel)
        )
    assert scope.cancelled_caught
    assert polls == 3  # the thread ended at the poll that saw the cancellation


async def test_the_service_scan_polls_for_cancellation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DocsService.scan gives the scanner a cancel check: a cancelled call stops its thread."""
    from autodocs_core import service as service_module
    from autodocs_core.config import Settings
    from autodocs_core.service import DocsService

    write(tmp_path, "requirements.txt", "".join(f"pkg{i}\n" for i in range(100_000)))
    real = service_module.scan_dependencies
    polls = 0
    scope = anyio.CancelScope()

    def scan(*args: Any, cancel: Callable[[], object], **kwargs: Any) -> object:
        def counting() -> None:
            nonlocal polls
            polls += 1
            if polls == 3:
                anyio.from_thread.run_sync(scope.cancel)
            cancel()

        return real(*args, cancel=counting, **kwargs)

    monkeypatch.setattr(service_module, "scan_dependencies", scan)
    async with DocsService(Settings(), store=None) as service:
        with scope:
            await service.scan(tmp_path)
    assert scope.cancelled_caught and polls == 3


# -- class 8: one unreadable file is a failed item, not a failed scan --------------------------


def test_an_unreadable_file_yields_a_partial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permission error on one file fails that file only; the others are read."""
    write(tmp_path, "requirements.txt", "attrs\n")
    locked = write(tmp_path, "requirements-dev.txt", "pytest\n")
    real_open = os.open

    def guarded_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files_module.os, "open", guarded_open)
    result = scan_dependencies(tmp_path)
    assert [d.name for d in result.succeeded] == ["attrs"]
    assert any("cannot be read" in f.error.error for f in result.failed)


# -- the line index that replaced the per-dependency text scan --------------------------------


@given(names=st.lists(st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z"), min_size=1, max_size=30))
def test_reported_lines_match_where_each_dependency_is_written(names: list[str]) -> None:
    """For any dependency list, each dependency's line is the line that declares it first."""
    from autodocs_core.deps._parsers import parse_pyproject

    specs = [f"{n}>={i}" for i, n in enumerate(names)]
    text = "[project]\nname = 'x'\ndependencies = [\n" + "".join(f'  "{s}",\n' for s in specs)
    text += "]\n"
    result = parse_pyproject(text, source="pyproject.toml")
    first = {}
    for i, spec in enumerate(specs):
        first.setdefault(spec, i + 4)
    assert [d.line for d in result.deps] == [first[s] for s in specs]


def test_query_secrets_in_a_valid_requirement_url_are_redacted(tmp_path: Path) -> None:
    """A direct-URL dependency keeps its URL, minus user:password@ and ?token= values."""
    write(
        tmp_path,
        "requirements.txt",
        "pkg @ https://bob:hunter22@h.example/p.whl?token=tok3n999&x=1\nattrs\n",
    )
    result = scan_dependencies(tmp_path)
    pkg = next(d for d in result.succeeded if d.name == "pkg")
    assert pkg.location == "https://***@h.example/p.whl?token=***&x=1"
    assert "hunter22" not in shown(result) and "tok3n999" not in shown(result)


def test_choose_scan_target_takes_the_most_specific_root(tmp_path: Path) -> None:
    """A project inside nested roots is confined to the innermost; relative paths use a root."""
    from autodocs_core.deps import choose_scan_target

    outer, inner = tmp_path / "ws", tmp_path / "ws" / "app"
    inner.mkdir(parents=True)
    root, target = choose_scan_target([outer, inner], inner / "src", allow_broad=False)
    assert (root, target) == (inner.resolve(), (inner / "src").resolve())
    assert choose_scan_target([outer], None, allow_broad=False) == (outer.resolve(),) * 2
    assert choose_scan_target([outer], "app", allow_broad=False)[1] == inner.resolve()


@pytest.mark.parametrize(
    ("roots", "project", "message"),
    [
        ([], None, "shares no file roots"),
        (["ws"], "/elsewhere/project", "outside the client's roots"),
        (["/"], None, "too broad"),
    ],
)
def test_choose_scan_target_refuses(
    tmp_path: Path, roots: list[str], project: str | None, message: str
) -> None:
    """No roots, a project outside them, or only a broad root: an input error, nothing read."""
    from autodocs_core.deps import choose_scan_target

    given = [r if r.startswith("/") else str(tmp_path / r) for r in roots]
    with pytest.raises(InvalidInputError, match=message):
        choose_scan_target(given, project, allow_broad=False)


def test_choose_scan_target_without_roots_is_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that offers no roots: the working directory is the root."""
    from autodocs_core.deps import choose_scan_target

    (tmp_path / "proj").mkdir()
    monkeypatch.chdir(tmp_path)
    assert choose_scan_target(None, "proj", allow_broad=False) == (
        tmp_path.resolve(),
        (tmp_path / "proj").resolve(),
    )
