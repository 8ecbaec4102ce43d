"""API reference read statically from a release's own artifact (wheel or sdist).

Nothing is installed, imported or executed: the artifact's central directory and the members
that hold importable code are read with HTTP range requests, parsed statically, and cached per
(index, name, version, file) forever (a release's files never change).
"""

from typing import TYPE_CHECKING, Any

from ._model import ENTRY_KINDS as ENTRY_KINDS
from ._model import ApiEntry as ApiEntry
from ._model import ApiIndex as ApiIndex
from ._model import Artifact as Artifact
from ._model import Parameter as Parameter
from ._model import SkippedModule as SkippedModule

# isort: split
# -- reading the artifact: choice, range reads, zip/tar limits ----------------------------------
from ._archive import ArchiveContents as ArchiveContents
from ._archive import RangeFetcher as RangeFetcher
from ._archive import importable_path as importable_path
from ._archive import read_archive as read_archive
from ._artifact import DEFAULT_MAX_SDIST_BYTES as DEFAULT_MAX_SDIST_BYTES
from ._artifact import choose_artifact as choose_artifact

# -- static extraction: module discovery, griffe extraction, cache codec -----------------------
from ._codec import decode_index as decode_index
from ._codec import encode_index as encode_index
from ._modules import ModuleFile as ModuleFile
from ._modules import module_paths as module_paths
from ._rank import Identifier as Identifier
from ._rank import Missing as Missing
from ._rank import Query as Query
from ._rank import ScoredEntry as ScoredEntry
from ._rank import find_missing as find_missing
from ._rank import parse_query as parse_query
from ._rank import rank_entries as rank_entries
from ._rank import resolve as resolve
from ._rank import with_search_terms as with_search_terms
from ._reader import ApiReader as ApiReader
from ._zip import DEFAULT_LIMITS as DEFAULT_LIMITS
from ._zip import ArchiveLimits as ArchiveLimits
from ._zip import ZipMember as ZipMember
from ._zip import safe_member_name as safe_member_name

if TYPE_CHECKING:
    from ._extract import DEFAULT_EXTRACT_LIMITS as DEFAULT_EXTRACT_LIMITS
    from ._extract import ExtractLimits as ExtractLimits
    from ._extract import extract_api as extract_api

_LAZY = frozenset({"DEFAULT_EXTRACT_LIMITS", "ExtractLimits", "extract_api"})


def __getattr__(name: str) -> Any:
    # griffe costs ~230 ms to import: load it when something is extracted, not at server start.
    if name in _LAZY:
        from . import _extract

        return getattr(_extract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENTRY_KINDS",
    "ApiEntry",
    "ApiIndex",
    "Artifact",
    "Parameter",
    "SkippedModule",
    # reading the artifact
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_SDIST_BYTES",
    "ArchiveContents",
    "ArchiveLimits",
    "RangeFetcher",
    "ZipMember",
    "choose_artifact",
    "importable_path",
    "read_archive",
    "safe_member_name",
    # -- static extraction --
    "DEFAULT_EXTRACT_LIMITS",
    "ExtractLimits",
    "ModuleFile",
    "decode_index",
    "encode_index",
    "extract_api",
    "module_paths",
    # ranking
    "Identifier",
    "Missing",
    "Query",
    "ScoredEntry",
    "find_missing",
    "parse_query",
    "rank_entries",
    "resolve",
    "with_search_terms",
    # the whole read
    "ApiReader",
]
