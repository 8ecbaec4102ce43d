"""Dependency scanning: what a project declares, from every common file format, read safely."""

from ._files import MAX_FILE_BYTES as MAX_FILE_BYTES
from ._files import check_scan_root as check_scan_root
from ._files import choose_scan_target as choose_scan_target
from ._model import Dependency as Dependency
from ._parsers import poetry_constraint as poetry_constraint
from ._scan import ACCEPTED_FILES as ACCEPTED_FILES
from ._scan import MAX_INCLUDE_DEPTH as MAX_INCLUDE_DEPTH
from ._scan import ScanLimits as ScanLimits
from ._scan import scan_dependencies as scan_dependencies

__all__ = [
    "ACCEPTED_FILES",
    "MAX_FILE_BYTES",
    "MAX_INCLUDE_DEPTH",
    "Dependency",
    "ScanLimits",
    "check_scan_root",
    "choose_scan_target",
    "poetry_constraint",
    "scan_dependencies",
]
