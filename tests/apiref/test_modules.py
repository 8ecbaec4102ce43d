"""Which archive members are importable modules, and under which names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.apiref import ModuleFile, module_paths


class TestWheelLayouts:
    def test_packages_and_modules_at_the_root(self) -> None:
        """A wheel's packages and single-file modules map to dotted names; dist-info is ignored."""
        found = module_paths(
            [
                "httpx/__init__.py",
                "httpx/_client.py",
                "httpx/_transports/__init__.py",
                "httpx/_transports/default.py",
                "httpx/py.typed",
                "six.py",
                "httpx-0.28.1.dist-info/METADATA",
                "httpx-0.28.1.dist-info/RECORD",
            ],
            name="httpx",
        )
        assert sorted(found) == [
            "httpx",
            "httpx._client",
            "httpx._transports",
            "httpx._transports.default",
            "six",
        ]
        assert found["httpx"] == ModuleFile("httpx", py="httpx/__init__.py", package=True)
        assert found["six"].package is False

    def test_data_purelib_and_platlib(self) -> None:
        """Members under ``*.data/purelib`` or ``platlib`` are importable; scripts are not."""
        found = module_paths(
            [
                "pkg-1.0.data/purelib/pkg/__init__.py",
                "pkg-1.0.data/platlib/pkg/fast.pyi",
                "pkg-1.0.data/scripts/run.py",
                "pkg-1.0.data/headers/x.py",
            ],
            name="pkg",
        )
        assert sorted(found) == ["pkg", "pkg.fast"]
        assert found["pkg"].py == "pkg-1.0.data/purelib/pkg/__init__.py"
        assert found["pkg.fast"].pyi == "pkg-1.0.data/platlib/pkg/fast.pyi"

    def test_source_and_stub_are_kept_together(self) -> None:
        """A module's ``.py`` and ``.pyi`` are both kept, under one name."""
        found = module_paths(["pkg/__init__.py", "pkg/__init__.pyi", "pkg/core.pyi"], name="pkg")
        assert found["pkg"] == ModuleFile(
            "pkg", py="pkg/__init__.py", pyi="pkg/__init__.pyi", package=True
        )
        assert found["pkg.core"] == ModuleFile("pkg.core", pyi="pkg/core.pyi")

    def test_stubs_package_maps_to_its_runtime_name(self) -> None:
        """A PEP 561 ``<pkg>-stubs`` package documents ``<pkg>``."""
        found = module_paths(
            ["yaml-stubs/__init__.pyi", "yaml-stubs/loader.pyi", "yaml/__init__.py"],
            name="types-pyyaml",
        )
        assert found["yaml"] == ModuleFile(
            "yaml", py="yaml/__init__.py", pyi="yaml-stubs/__init__.pyi", package=True
        )
        assert found["yaml.loader"].pyi == "yaml-stubs/loader.pyi"

    def test_namespace_packages(self) -> None:
        """Modules under directories without ``__init__.py`` (PEP 420) are importable."""
        found = module_paths(
            ["google/cloud/storage/__init__.py", "google/cloud/storage/blob.py"], name="x"
        )
        assert sorted(found) == ["google.cloud.storage", "google.cloud.storage.blob"]

    def test_tests_docs_examples_and_caches_are_skipped(self) -> None:
        """Tests, docs, examples, benchmarks, conftest, setup.py and __pycache__ are not API."""
        found = module_paths(
            [
                "pkg/__init__.py",
                "pkg/tests/__init__.py",
                "pkg/tests/test_a.py",
                "pkg/test_b.py",
                "pkg/b_test.py",
                "pkg/conftest.py",
                "pkg/testing.py",
                "pkg/__pycache__/x.cpython-311.pyc",
                "pkg/__pycache__/y.py",
                "docs/conf.py",
                "examples/demo.py",
                "benchmarks/b.py",
                "setup.py",
                "pkg/__main__.py",
            ],
            name="pkg",
        )
        assert sorted(found) == ["pkg", "pkg.testing"]

    def test_unsafe_and_non_identifier_paths_are_dropped(self) -> None:
        """``..``, absolute paths, drive letters and non-identifier parts never become modules."""
        found = module_paths(
            [
                "../evil.py",
                "/abs/mod.py",
                "C:/win/mod.py",
                "pkg/../x.py",
                "my-pkg/mod.py",
                "pkg/1bad.py",
                "pkg/ok.py",
            ],
            name="pkg",
        )
        assert sorted(found) == ["pkg.ok"]


class TestSdistLayouts:
    def test_src_layout(self) -> None:
        """``name-1.0/src/pkg/...`` maps to ``pkg``; root scripts and tests are skipped."""
        found = module_paths(
            [
                "attrs-25.1.0/src/attr/__init__.py",
                "attrs-25.1.0/src/attrs/__init__.pyi",
                "attrs-25.1.0/setup.py",
                "attrs-25.1.0/noxfile.py",
                "attrs-25.1.0/conftest.py",
                "attrs-25.1.0/tests/test_x.py",
                "attrs-25.1.0/docs/conf.py",
                "attrs-25.1.0/PKG-INFO",
            ],
            name="attrs",
        )
        assert sorted(found) == ["attr", "attrs"]
        assert found["attr"].py == "attrs-25.1.0/src/attr/__init__.py"

    def test_flat_layout_and_single_file_module(self) -> None:
        """``name-1.0/pkg/...`` and a root module named after the distribution are kept."""
        found = module_paths(
            ["six-1.17.0/six.py", "six-1.17.0/setup.py", "six-1.17.0/fabfile.py"],
            name="six",
        )
        assert sorted(found) == ["six"]
        found = module_paths(["flat-2.0/flat/__init__.py", "flat-2.0/flat/core.py"], name="flat")
        assert sorted(found) == ["flat", "flat.core"]


@given(st.lists(st.text(max_size=40), max_size=30), st.text(max_size=20))
def test_any_paths_give_valid_dotted_names(paths: list[str], name: str) -> None:
    """Whatever the member names, every result is a dotted identifier path that came from them."""
    found = module_paths(paths, name=name)
    for dotted, module in found.items():
        assert all(part.isidentifier() for part in dotted.split("."))
        assert module.name == dotted
        assert module.py is not None or module.pyi is not None
        for path in (module.py, module.pyi):
            assert path is None or ".." not in path.split("/")
