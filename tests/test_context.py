"""Dependency context: ranked runtime dependencies, fetched concurrently, within one budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.config import Settings
from autodocs_core.context import assemble_context, runtime_dependencies
from autodocs_core.docs import count_tokens
from autodocs_core.errors import InvalidInputError
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, FaultIndex

pytestmark = pytest.mark.anyio
PY312 = {
    "python_version": "3.12",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def test_runtime_dependencies_evaluate_markers_extras_and_rank() -> None:
    """Markers and extras are evaluated; 'smart' puts shims last; 'primary-only' has none."""
    reqs = [
        "typing-extensions>=4",
        "attrs>=25",
        "tomli; python_version < '3.11'",
        "orjson; extra == 'orjson'",
        "cffi; os_name == 'nt'",
        "broken !!",
        "attrs>=1",
    ]
    assert runtime_dependencies(reqs, scope="runtime", environment=PY312) == [
        ("typing-extensions", ">=4"),
        ("attrs", ">=25"),
    ]
    assert [n for n, _ in runtime_dependencies(reqs, environment=PY312)] == [
        "attrs",
        "typing-extensions",
    ]
    with_extra = runtime_dependencies(reqs, extras=["ORJSON"], environment=PY312)
    assert "orjson" in [n for n, _ in with_extra]
    assert runtime_dependencies(reqs, scope="primary-only") == []
    with pytest.raises(InvalidInputError):
        runtime_dependencies(reqs, scope="everything")


async def test_context_includes_fetched_and_lists_failures(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """trio: attrs is included as a summary; missing dependencies fail with payloads."""
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            answer = await svc.get_docs_with_context("trio", max_tokens=6000)
    assert answer.package_name == "trio" and answer.tokens <= 6000
    assert answer.tokens == count_tokens(answer.documentation)
    assert answer.documentation.startswith("# trio 0.35.0")
    assert "## Dependencies of trio 0.35.0" in answer.documentation
    statuses = {s.name: s.status for s in answer.dependencies.succeeded}
    assert statuses == {"attrs": "truncated"} or statuses == {"attrs": "included"}
    failed = {f.key: f.error.error_type for f in answer.dependencies.failed}
    assert failed == {
        n: "package_not_found" for n in ("sortedcontainers", "idna", "outcome", "sniffio")
    }
    assert answer.dependencies.is_partial


async def test_budget_and_limits(projects: dict[str, Any], tmp_path: Path) -> None:
    """Tight budgets skip summaries for budget; max_dependencies skips by limit; 0 deps ok."""
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            tight = await svc.get_docs_with_context("cattrs", max_tokens=300)
            assert tight.tokens <= 300
            assert [s.status for s in tight.dependencies.succeeded] == ["skipped_for_budget"]
            limited = await svc.get_docs_with_context("trio", max_dependencies=1)
            by_limit = [
                s.name for s in limited.dependencies.succeeded if s.status == "skipped_by_limit"
            ]
            assert len(by_limit) == 4
            alone = await svc.get_docs_with_context("trio", scope="primary-only")
            assert alone.dependencies.total == 0
            without = await svc.get_docs_with_context("trio", include_dependencies=False)
            assert without.dependencies.total == 0 and without.package_name == "trio"
            with pytest.raises(InvalidInputError):
                await svc.get_docs_with_context("trio", max_dependencies=99)


# Rendered answers never hold a carriage return (sanitising turns CRLF into LF).
_TEXT = st.text(alphabet=st.characters(exclude_characters="\r"), max_size=600)


@given(
    primary=_TEXT,
    deps=st.lists(st.tuples(st.from_regex(r"\A[a-z]{1,8}\Z"), _TEXT, st.booleans()), max_size=8),
    budget=st.integers(200, 2000),
)
def test_assembly_never_exceeds_the_budget(
    primary: str, deps: list[tuple[str, str, bool]], budget: int
) -> None:
    """Whatever the answers, the assembled context fits the budget and accounts exactly."""
    if count_tokens(primary) > budget:
        return
    text, tokens, statuses = assemble_context(
        primary, [(n, "", "1.0", t, tr) for n, t, tr in deps], budget=budget, title="Deps"
    )
    assert tokens == count_tokens(text) <= budget
    assert len(statuses) == len(deps)
