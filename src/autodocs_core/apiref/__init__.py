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

__all__ = [
    "ENTRY_KINDS",
    "ApiEntry",
    "ApiIndex",
    "Artifact",
    "Parameter",
    "SkippedModule",
]
