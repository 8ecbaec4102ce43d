"""autodocs_core: accurate, version-specific package documentation on a resilient, anyio core.

The public surface, in one namespace: the product (:class:`DocsService` and the answers it gives,
configured by :class:`Settings`), the resilience primitives (the guard, the breaker, the retry
policies, ``fetch_all``/``fetch_stream`` and their partial results) and the error base. The
product and the serialisation helpers are loaded on first use (a module ``__getattr__``), so
``import autodocs_core`` stays light: it loads neither httpx, cattrs nor packaging.

Deeper namespaces: :mod:`autodocs_core.errors` (the whole hierarchy),
:mod:`autodocs_core.resilience`, :mod:`autodocs_core.testing` (fake clock, fake index), and the
layers the product is built from (``http``, ``pypi``, ``apiref``, ``docs``, ``cache``, ``deps``,
``observability``).

.. versionchanged:: 0.2.0
   ``DocsService``, ``DocsAnswer``, ``ApiAnswer`` and ``Settings`` are exported here.
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
    from .config import Settings as Settings
    from .service import ApiAnswer as ApiAnswer
    from .service import DocsAnswer as DocsAnswer
    from .service import DocsService as DocsService

_DISTRIBUTION = "autodocs-mcp-server"
"""The distribution (install) name; the import packages are autodocs_core and autodocs_mcp."""

__all__ = [
    # the product
    "ApiAnswer",
    "DocsAnswer",
    "DocsService",
    "Settings",
    # resilience
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
    "fetch_all",
    "fetch_stream",
    "retry",
    "retrying",
    # serialisation
    "structure",
    "unstructure",
    "__version__",
]

# Loaded on first use: these pull in httpx, cattrs and packaging.
_LAZY = {
    "ApiAnswer": "service",
    "DocsAnswer": "service",
    "DocsService": "service",
    "Settings": "config",
    "structure": "_serde",
    "unstructure": "_serde",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version(_DISTRIBUTION)
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})
