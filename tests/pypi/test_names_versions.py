"""Package names (PEP 508/503) and version resolution (PEP 440, PEP 592) on recorded documents."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from autodocs_core.errors import InvalidInputError, VersionNotFoundError
from autodocs_core.pypi import Release, normalize_name, parse_constraint, resolve_version
from autodocs_core.pypi._parse import project_from_json


class TestNames:
    @pytest.mark.parametrize("raw", ["Foo_Bar", "foo.bar", "FOO--bar", " foo-bar ", "foo__.-bar"])
    def test_spellings_of_one_package_normalise_alike(self, raw: str) -> None:
        """Case, '.', '_' and '-' runs all normalise to one name (PEP 503)."""
        assert normalize_name(raw) == "foo-bar"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "-foo",
            "foo-",
            "foo bar",
            "requests>=2",
            "naïve",
            "a/b",
            "../etc",
            "x" * 200,
            42,
            None,
        ],
    )
    def test_invalid_names_are_refused_with_a_hint(self, raw: object) -> None:
        """Invalid names are an invalid-input error (never a request), with a suggestion."""
        with pytest.raises(InvalidInputError) as info:
            normalize_name(raw)
        assert info.value.suggestions
        if raw == "requests>=2":
            assert "version_constraint" in info.value.suggestions[0]

    @given(st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,40}[A-Za-z0-9])?\Z"))
    def test_valid_names_normalise_idempotently(self, raw: str) -> None:
        """Any PEP 508 name normalises to a lower-case name that normalises to itself."""
        normal = normalize_name(raw)
        assert normal == normal.lower() and normalize_name(normal) == normal
        assert "_" not in normal and "." not in normal and "--" not in normal


def releases(projects: dict[str, Any], name: str) -> tuple[Release, ...]:
    return project_from_json(name, projects[name], url="fixture").releases


class TestResolution:
    @pytest.mark.parametrize(
        ("name", "constraint", "version"),
        [
            ("attrs", None, "26.1.0"),
            ("attrs", "latest", "26.1.0"),
            ("attrs", "==25.4.0", "25.4.0"),
            ("attrs", "25.4.0", "25.4.0"),
            ("attrs", "<22", "21.4.0"),
            ("httpx", "~=0.27.0", "0.27.2"),
            ("pytest", ">=8.1,<8.2", "8.1.2"),
            # 23.1.0 is yanked, so the only match is the release candidate (PEP 440 admits a
            # pre-release when no final release matches)
            ("cattrs", ">=23,<23.1.1", "23.1.0rc0"),
            ("cattrs", ">=23,<23.2", "23.1.2"),
            ("cattrs", "==23.1.0rc0", "23.1.0rc0"),
        ],
    )
    def test_resolves_recorded_documents(
        self, projects: dict[str, Any], name: str, constraint: str | None, version: str
    ) -> None:
        """Specifiers resolve to the newest matching, non-yanked release."""
        assert resolve_version(name, releases(projects, name), constraint).version == version

    def test_yanked_release_is_skipped_unless_pinned(self, projects: dict[str, Any]) -> None:
        """The yanked pytest 8.1.0: ranges skip it; an exact pin gets it, flagged with why."""
        rel = releases(projects, "pytest")
        assert resolve_version("pytest", rel, "<8.1.2,>=8.1").version == "8.1.1"
        with pytest.raises(VersionNotFoundError):
            resolve_version("pytest", rel, ">=8.1.0,<8.1.1")
        pinned = resolve_version("pytest", rel, "==8.1.0")
        assert pinned.version == "8.1.0" and pinned.yanked
        assert pinned.yanked_reason and "12069" in pinned.yanked_reason

    def test_pre_releases_follow_pep_440(self) -> None:
        """Pre-releases only when named or when nothing else matches."""
        rel = [Release("1.0"), Release("2.0b1")]
        assert resolve_version("x", rel, None).version == "1.0"
        assert resolve_version("x", rel, ">=1.5").version == "2.0b1"
        assert resolve_version("x", [Release("2.0rc1")], None).version == "2.0rc1"

    def test_legacy_versions_are_skipped_without_crashing(self) -> None:
        """Non-PEP 440 versions are ignored, not fatal."""
        rel = [Release("2004d"), Release("1.0-legacy-junk"), Release("0.9"), Release("dev")]
        assert resolve_version("x", rel, None).version == "0.9"

    def test_no_match_lists_the_nearest_versions(self, projects: dict[str, Any]) -> None:
        """A specifier that matches nothing says so and lists versions near the request."""
        with pytest.raises(VersionNotFoundError) as info:
            resolve_version("httpx", releases(projects, "httpx"), ">=0.28.2,<0.29")
        assert "0.28.1" in info.value.nearest
        assert "0.28.1" in info.value.suggestions[0]

    def test_all_yanked_is_a_clear_error(self) -> None:
        """When every release is yanked, 'latest' fails and says how to get one anyway."""
        with pytest.raises(VersionNotFoundError) as info:
            resolve_version("x", [Release("1.0", yanked=True)], None)
        assert "==" in info.value.suggestions[0]

    @pytest.mark.parametrize("bad", [">=>1", "=1.0", "~=1", "latest-ish", "1.0; rm -rf"])
    def test_invalid_specifier_is_invalid_input(self, bad: str) -> None:
        """A malformed constraint is an invalid-input error with a hint."""
        with pytest.raises(InvalidInputError) as info:
            parse_constraint(bad)
        assert ">=" in info.value.suggestions[0]

    @given(
        versions=st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans(), st.booleans()),
            min_size=1,
            max_size=20,
        ),
        op=st.sampled_from([">=", "<=", "==", "!=", "~=", ">", "<"]),
        target=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    )
    def test_resolution_satisfies_the_specifier(
        self,
        versions: list[tuple[int, int, bool, bool]],
        op: str,
        target: tuple[int, int],
    ) -> None:
        """The chosen version satisfies the constraint, and is yanked only when pinned."""
        rel = [Release(f"{a}.{b}{'rc1' if pre else ''}", yanked=y) for a, b, pre, y in versions]
        constraint = f"{op}{target[0]}.{target[1]}"
        try:
            res = resolve_version("x", rel, constraint)
        except VersionNotFoundError:
            return
        spec = SpecifierSet(constraint)
        assert spec.contains(Version(res.version), prereleases=True)
        if res.yanked:
            assert op == "=="
