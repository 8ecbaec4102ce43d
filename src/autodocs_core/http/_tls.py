"""TLS verification: the operating system's trust store by default, or an explicit CA bundle.

MCP clients often start servers with a stripped environment, and corporate TLS-inspecting proxies
install their CA in the OS trust store, not in certifi: so the default is ``truststore``. There is
no option to disable verification.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from ..errors import ConfigError

__all__ = ["make_ssl_context"]


def make_ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """Return a verifying client context: from *ca_bundle* (a PEM file) or the OS trust store.

    Raises:
        ConfigError: When the bundle is missing or not a readable PEM file.
    """
    if ca_bundle:
        path = Path(ca_bundle).expanduser()
        try:
            return ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"AUTODOCS_CA_BUNDLE={ca_bundle!r} is not a readable PEM file of CA certificates",
                details={
                    "setting": "AUTODOCS_CA_BUNDLE",
                    "value": ca_bundle,
                    "reason": type(exc).__name__,
                },
                suggestions=(
                    "Point AUTODOCS_CA_BUNDLE at a PEM file, or unset it to use the "
                    "operating system's trust store.",
                ),
            ) from exc
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
