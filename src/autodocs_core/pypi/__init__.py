"""The package-index layer: names, version resolution, and the resilient index client."""

from ._client import DEFAULT_DEADLINE as DEFAULT_DEADLINE
from ._client import DEFAULT_INDEX_URL as DEFAULT_INDEX_URL
from ._client import IndexClient as IndexClient
from ._client import IndexConfig as IndexConfig
from ._client import MetadataFallback as MetadataFallback
from ._client import SimplePage as SimplePage
from ._client import normalize_index_url as normalize_index_url
from ._models import PackageMetadata as PackageMetadata
from ._models import ProjectIndex as ProjectIndex
from ._models import Release as Release
from ._models import Resolution as Resolution
from ._names import MAX_NAME_LENGTH as MAX_NAME_LENGTH
from ._names import normalize_name as normalize_name
from ._versions import MAX_CONSTRAINT_LENGTH as MAX_CONSTRAINT_LENGTH
from ._versions import parse_constraint as parse_constraint
from ._versions import resolve_version as resolve_version

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_INDEX_URL",
    "MAX_CONSTRAINT_LENGTH",
    "MAX_NAME_LENGTH",
    "IndexClient",
    "IndexConfig",
    "MetadataFallback",
    "SimplePage",
    "PackageMetadata",
    "ProjectIndex",
    "Release",
    "Resolution",
    "normalize_index_url",
    "normalize_name",
    "parse_constraint",
    "resolve_version",
]
