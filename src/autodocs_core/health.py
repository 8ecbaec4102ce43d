"""Deprecated alias of :mod:`autodocs_core.observability` (health and readiness); import from there.

.. deprecated:: 0.2.0
"""

from .observability._health import *  # noqa: F403
