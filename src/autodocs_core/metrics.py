"""Deprecated alias of :mod:`autodocs_core.observability` (service metrics); import from there.

.. deprecated:: 0.2.0
"""

from .observability._metrics import *  # noqa: F403
