"""autodocs_core: accurate, version-specific package documentation on a resilient, anyio core.

The public surface: the error hierarchy (:mod:`autodocs_core.errors`), the resilience primitives
(:mod:`autodocs_core.resilience`) and test helpers (:mod:`autodocs_core.testing`). Serialisation
helpers load cattrs lazily, so ``import autodocs_core`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import AutodocsError as AutodocsError
from .resilience import Backoff as Backoff
from .resilience import BreakerConfig as BreakerConfig
from .resilience import CircuitBreaker as CircuitBreaker
from .resilience import CircuitState as CircuitState
from .resilience import Deadline as Deadline
from .resilience import ErrorPayload as ErrorPayload
from .resilience import FailedItem as FailedItem
from .resilience import Hooks as Hooks
from .resilience import Jitter as Jitter
from .resilience import PartialResult as PartialResult
from .resilience import Resilience as Resilience
from .resilience import RetryBudget as RetryBudget
from .resilience import RetryPolicy as RetryPolicy
from .resilience import fetch_all as fetch_all
from .resilience import fetch_stream as fetch_stream
from .resilience import retry as retry
from .resilience import retrying as retrying

if TYPE_CHECKING:
    from ._serde import structure as structure
    from ._serde import unstructure as unstructure

_DISTRIBUTION = "autodocs-mcp-server"
"""The distribution (install) name; the import packages are autodocs_core and autodocs_mcp."""

__all__ = [
    "AutodocsError",
    "Backoff",
    "BreakerConfig",
    "CircuitBreaker",
    "CircuitState",
    "Deadline",
    "ErrorPayload",
    "FailedItem",
    "Hooks",
    "Jitter",
    "PartialResult",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "__version__",
    "fetch_all",
    "fetch_stream",
    "retry",
    "retrying",
    "structure",
    "unstructure",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version(_DISTRIBUTION)
    if name in ("structure", "unstructure"):
        from . import _serde

        return getattr(_serde, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
