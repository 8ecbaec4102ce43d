"""Health, readiness and metrics, from narrow inputs.

The checks and the exports take the pieces they read (the cache, the HTTP and index clients, the
settings, the metrics, the shutting-down flag), never the service, so this layer sits below
:class:`~autodocs_core.service.DocsService` and imports nothing of it.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._health import PROBE_TTL as PROBE_TTL
from ._health import Check as Check
from ._health import HealthReport as HealthReport
from ._health import Readiness as Readiness
from ._health import check_health as check_health
from ._health import check_readiness as check_readiness
from ._metrics import CLIENT_ERRORS as CLIENT_ERRORS
from ._metrics import ServiceMetrics as ServiceMetrics

__all__ = [
    "CLIENT_ERRORS",
    "PROBE_TTL",
    "Check",
    "HealthReport",
    "Readiness",
    "ServiceMetrics",
    "check_health",
    "check_readiness",
]
