"""Credentials for a private index: from configuration or ``~/.netrc``, for one origin only.

Credentials are sent only to the index's own origin (scheme, host, port), never to a files host
or a redirect target, and they never appear in ``repr``, logs or error messages.
"""

from __future__ import annotations

import base64
import netrc
import urllib.parse
from pathlib import Path

import attrs

from ..errors import ConfigError

__all__ = ["Credentials", "split_userinfo"]


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """Return *url* without ``user:password@``, and the user name and password it held."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return clean, urllib.parse.unquote(user) or None, urllib.parse.unquote(password) or None


@attrs.frozen(repr=False)
class Credentials:
    """Basic or bearer credentials bound to one origin.

    Attributes:
        origin: ``(scheme, host, port)`` the credentials may be sent to.
        username: Basic-auth user name (``None`` for a bearer token).
        secret: The password or token.

    .. versionadded:: 0.1.0
    """

    origin: tuple[str, str, int]
    username: str | None
    secret: str

    def header(self) -> str:
        """Return the ``Authorization`` header value."""
        if self.username is None:
            return f"Bearer {self.secret}"
        raw = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        kind = "bearer" if self.username is None else "basic"
        return f"Credentials(origin={self.origin!r}, kind={kind!r}, secret=***)"

    @classmethod
    def find(
        cls,
        index_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        netrc_file: str | Path | None = None,
        netrc_default: bool = False,
    ) -> Credentials | None:
        """Return credentials for *index_url*'s origin, or ``None``.

        By priority: a token, a user name and password (given, or in the URL), then the
        ``netrc`` entry for the host. The netrc ``default`` entry (meant for "any other host")
        is used only when *netrc_default* is true, which the settings allow only for a
        configured private index: it is never sent to the public index.

        Raises:
            ConfigError: When the netrc file exists but cannot be read or parsed (it names
                ``AUTODOCS_NETRC``; the file's contents are never quoted).

        .. versionchanged:: 0.2.0
           *netrc_default*; the ``default`` entry is no longer used unless asked for.
        """
        from ._client import origin_of

        clean, url_user, url_password = split_userinfo(index_url)
        origin = origin_of(clean)
        if token:
            return cls(origin, None, token)
        username = username or url_user
        password = password or url_password
        if username and password:
            return cls(origin, username, password)
        try:
            path = Path(netrc_file).expanduser() if netrc_file else Path.home() / ".netrc"
            if not path.is_file():
                return None
            if path.stat().st_size > 1024 * 1024:
                raise ValueError("larger than 1 MiB")
            parsed = netrc.netrc(str(path))
        except (netrc.NetrcParseError, OSError, ValueError, RuntimeError, KeyError) as exc:
            # UnicodeDecodeError (a binary file) is a ValueError; NetrcParseError's message
            # quotes the offending token, so only its class is reported.
            shown = str(netrc_file or "~/.netrc")[:200]
            raise ConfigError(
                f"AUTODOCS_NETRC: the netrc file {shown!r} could not be read or parsed",
                details={
                    "variable": "AUTODOCS_NETRC",
                    "setting": "netrc",
                    "path": shown,
                    "reason": type(exc).__name__,
                },
                suggestions=(
                    "Fix the netrc file's syntax, or point AUTODOCS_NETRC at another file.",
                ),
            ) from None
        entry = parsed.hosts.get(origin[1])
        if entry is None and netrc_default:
            entry = parsed.hosts.get("default")
        if entry is None or not entry[2]:
            return None
        login, _account, secret = entry
        return cls(origin, login or None, secret) if login else cls(origin, None, secret)
