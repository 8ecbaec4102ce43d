"""API reference read statically from a release's own artifact (wheel or sdist).

Nothing is installed, imported or executed: the artifact's central directory and the members
that hold importable code are read with HTTP range requests, parsed statically, and cached per
(index, name, version, file) forever (a release's files never change).
"""

from ._model import ENTRY_KINDS as ENTRY_KINDS
from ._model import ApiEntry as ApiEntry
from ._model import ApiIndex as ApiIndex
from ._model import Artifact as Artifact
from ._model import Parameter as Parameter
from ._model import SkippedModule as SkippedModule

# isort: split
# -- static extraction (helper "extract"): module discovery, griffe extraction, cache codec --
from ._codec import decode_index as decode_index
from ._codec import encode_index as encode_index
from ._extract import DEFAULT_EXTRACT_LIMITS as DEFAULT_EXTRACT_LIMITS
from ._extract import ExtractLimits as ExtractLimits
from ._extract import extract_api as extract_api
from ._modules import ModuleFile as ModuleFile
from ._modules import module_paths as module_paths

# -- end of static extraction --

__all__ = [
    "ENTRY_KINDS",
    "ApiEntry",
    "ApiIndex",
    "Artifact",
    "Parameter",
    "SkippedModule",
    # -- static extraction --
    "DEFAULT_EXTRACT_LIMITS",
    "ExtractLimits",
    "ModuleFile",
    "decode_index",
    "encode_index",
    "extract_api",
    "module_paths",
]
