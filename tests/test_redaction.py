"""Credentials never leave in an error: one redaction function, applied to every payload field."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autodocs_core.errors import (
    AutodocsError,
    InvalidInputError,
    UpstreamError,
    redact_fragment,
    redact_text,
    redact_url,
)
from autodocs_core.resilience import ErrorPayload, FailedItem

SECRETS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=8,
    max_size=24,
)
AROUND = st.text(max_size=40)
PARAMS = st.sampled_from(
    [
        "token",
        "access_token",
        "api_key",
        "apikey",
        "sig",
        "X-Amz-Signature",
        "client_secret",
        "password",
        "auth",
        "private_token",
        "session",
    ]
)


def _url_with_userinfo(user: str, secret: str, host: str) -> str:
    return f"https://{user}:{secret}@{host}/simple/pkg/"


@given(secret=SECRETS, before=AROUND, after=AROUND, user=st.sampled_from(["bob", "__token__", "x"]))
def test_userinfo_anywhere_in_a_text_never_reaches_the_payload(
    secret: str, before: str, after: str, user: str
) -> None:
    """For any text holding a URL with user:secret@, no payload field contains the secret."""
    assume(secret not in before + after + user + "index.example/simple/pkg/https")
    text = before + " " + _url_with_userinfo(user, secret, "index.example") + " " + after
    error = InvalidInputError(
        text, details={"text": text, "nested": [{"line": text}]}, suggestions=(text,)
    )
    for shown in (
        json.dumps(error.to_payload()),
        str(error),
        repr(error),
        json.dumps(ErrorPayload.from_exception(error).to_payload()),
        json.dumps(FailedItem.from_exception("k", error).error.to_payload()),
    ):
        assert secret not in shown


@given(
    secret=SECRETS,
    param=PARAMS,
    before=AROUND,
    after=st.sampled_from(["", "&page=2", "#frag", " tail"]),
)
def test_secret_query_parameters_never_reach_the_payload(
    secret: str, param: str, before: str, after: str
) -> None:
    """?token=, &api_key=, sig= and friends lose their value in every field."""
    assume(secret not in before + param + "https://host/p?a=1&")
    text = f"{before} https://host/p?a=1&{param}={secret}{after}"
    error = UpstreamError(text, url=f"https://host/p?{param}={secret}")
    assert secret not in json.dumps(error.to_payload())
    assert f"{param}=***" in redact_url(f"https://host/p?{param}={secret}")


def test_fields_replaced_after_construction_are_redacted_in_the_payload() -> None:
    """to_payload is the choke point: a suggestion set later is redacted too."""
    error = AutodocsError("boom")
    error.suggestions = ("retry https://u:hunter22@h/x",)
    error.details["url"] = "https://h/x?token=hunter22"
    assert "hunter22" not in json.dumps(error.to_payload())


def test_log_lines_carry_the_redacted_message(caplog: pytest.LogCaptureFixture) -> None:
    """Logging an error (message or exception) shows the redacted text only."""
    error = InvalidInputError("bad line: pkg @ https://bob:hunter22@h/p.whl?sig=abc123")
    with caplog.at_level(logging.WARNING):
        logging.getLogger("autodocs.test").warning("failed: %s", error)
        logging.getLogger("autodocs.test").warning("failed: %r", error)
    assert "hunter22" not in caplog.text and "abc123" not in caplog.text


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("API_KEY=abcd1234efgh", "abcd1234efgh"),
        ("password: hunter2", "hunter2"),
        ("ghp_abcdefghijklmnopqrstuvwxyz012345", "ghp_abcdefghijklmnopqrstuvwxyz012345"),
        ("AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("x = 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc", "9f8e7d6c5b4a3928"),
    ],
)
def test_fragments_are_short_and_hide_secret_looking_tokens(text: str, gone: str) -> None:
    """A quoted file line is at most 40 characters (plus an ellipsis) and hides key-like runs."""
    shown = redact_fragment(text)
    assert gone not in shown
    assert len(shown) <= 41


@given(st.text(max_size=300))
def test_redaction_is_idempotent_and_bounded(text: str) -> None:
    """Redacting twice changes nothing more; a fragment never exceeds its limit."""
    once = redact_text(text)
    assert redact_text(once) == once
    assert len(redact_fragment(text)) <= 41


def test_prose_is_left_alone() -> None:
    """Messages without secrets are unchanged (no word after 'credentials:' is eaten)."""
    prose = "The index wants credentials: set AUTODOCS_INDEX_TOKEN or add the host to ~/.netrc."
    assert redact_text(prose) == prose
