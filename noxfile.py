"""Contributor tasks. Every session installs exactly what uv.lock pins (``uv sync --locked``).

Sessions: ``tests`` (full suite on asyncio and trio, branch coverage), ``lint`` (ruff),
``typecheck`` (mypy --strict on src/, tests/typing/ and examples/), ``bench`` (``-- --quick``
for the CI smoke run),
``inspector`` (MCP Inspector's CLI against the server; skipped without node), ``demo`` and
``fleet`` (a local redis-server and 3 HTTP replicas sharing it, until Ctrl-C).
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)

# uv verifies TLS with the operating system's trust store, so that installs work behind
# TLS-inspecting proxies whose CA is installed there (and not in uv's bundled roots).
os.environ.setdefault("UV_SYSTEM_CERTS", "1")


def sync(
    session: nox.Session,
    *groups: str,
    extras: tuple[str, ...] = (),
    compile_bytecode: bool = False,
) -> None:
    """Install the project and the given dependency groups, exactly as locked, into the venv."""
    args = ["uv", "sync", "--locked", "--no-default-groups"]
    if compile_bytecode:
        args.append("--compile-bytecode")
    args += [f"--group={g}" for g in groups]
    args += [f"--extra={e}" for e in extras]
    session.run_install(
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (every async test on asyncio and trio) with coverage."""
    sync(session, "test", extras=("mcp",))
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report")


@nox.session(python=PYTHONS[-1])
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[-1])
def typecheck(session: nox.Session) -> None:
    """Type-check with mypy --strict: src/, the public-API uses in tests/typing/ and examples/.

    The files are listed once, in pyproject.toml (``[tool.mypy] files``).
    """
    sync(session, "typing", extras=("mcp",))
    session.run("mypy")


PEER = "autodoc-mcp==0.5.1"
"""The peer the fault lab compares against (``nox -s bench -- --peer``), in its own venv."""


@nox.session(python=PYTHONS[-1])
def bench(session: nox.Session) -> None:
    """Run the benchmarks; ``-- --quick`` for a short smoke run (what CI runs).

    ``-- --peer`` also installs the peer (``PEER``) into its own virtual environment and runs
    the fault lab's scenarios and the start-up measurement through it, in the same run.
    """
    # Compiled bytecode, as a normal install has: the start-up timing must not include
    # compiling our dependencies (or the peer's) from source on every start.
    # The redis extra: the fleet suite's replicas share a redis-server (it skips without one).
    sync(session, "bench", extras=("mcp", "redis"), compile_bytecode=True)
    args = list(session.posargs)
    # The start-up measurement times our server as a user installs it: not editable (so our
    # own modules are bytecode-compiled too, not compiled from source on every start) and
    # without the benchmark's packages (trio, for one, is imported by httpcore when present).
    ours = (session.cache_dir / "ours-venv").resolve()
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--no-default-groups",
        "--no-editable",
        "--compile-bytecode",
        "--reinstall-package=autodocs-mcp-server",  # a local build is cached by pyproject.toml
        "--extra=mcp",
        f"--python={session.virtualenv.location}/bin/python",
        env={"UV_PROJECT_ENVIRONMENT": str(ours)},
        external=True,
    )
    args += ["--ours-command", str(ours / "bin" / "autodocs-mcp")]
    if "--peer" in args:
        args.remove("--peer")
        venv = (session.cache_dir / "peer-venv").resolve()
        python = venv / "bin" / "python"
        if not python.exists():
            session.run_install(
                "uv",
                "venv",
                "--python",
                session.virtualenv.location + "/bin/python",
                str(venv),
                external=True,
            )
        session.run_install(
            "uv",
            "pip",
            "install",
            "--compile-bytecode",
            "--python",
            str(python),
            PEER,
            external=True,
        )
        args += ["--peer-command", str(venv / "bin" / "autodoc-mcp")]
    session.run("python", "-m", "benchmarks", *args)


@nox.session(python=PYTHONS[-1])
def inspector(session: nox.Session) -> None:
    """Drive the MCP server with MCP Inspector's CLI (an independent client; needs node)."""
    import shutil

    if shutil.which("npx") is None:
        session.skip("node/npx is not installed: MCP Inspector cannot run here")
    sync(session, extras=("mcp",))
    session.run("python", "tests/inspector_check.py", env={"PYTHONPATH": "."})


@nox.session(python=PYTHONS[-1])
def fleet(session: nox.Session) -> None:
    """Start redis-server on a free port and 3 HTTP replicas sharing it; Ctrl-C stops them all.

    ``-- --replicas N``, ``-- --index-url URL`` (default: ``AUTODOCS_INDEX_URL``, else the public
    index) and ``-- --redis-url URL`` (use a running Redis/Valkey instead of starting one). The
    start/stop code is ``benchmarks/_fleet.py``, which the fleet benchmark reuses.
    """
    sync(session, extras=("mcp", "redis"))
    session.run("python", "-m", "benchmarks._fleet", *session.posargs)


@nox.session(python=PYTHONS[-1])
def demo(session: nox.Session) -> None:
    """Run the core's offline demo (pass ``-- --backend trio`` to use trio)."""
    sync(session)
    session.run("python", "-m", "autodocs_core", *session.posargs)
