"""PartialResult / FailedItem invariants and the cattrs round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core import structure, unstructure
from autodocs_core.errors import InvalidInputError, PackageNotFoundError, UpstreamServerError
from autodocs_core.resilience import ErrorPayload, FailedItem, PartialResult

payloads = st.builds(
    ErrorPayload,
    error=st.text(max_size=30),
    error_type=st.sampled_from(["timeout", "not_found", "upstream_5xx"]),
    details=st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=3
    ),
    suggestions=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    recovery_actions=st.lists(st.text(max_size=20), max_size=2).map(tuple),
)
failed_items = st.builds(FailedItem, key=st.text(max_size=20), error=payloads)
results = st.builds(
    PartialResult[str],
    succeeded=st.lists(st.text(max_size=10), max_size=5).map(tuple),
    failed=st.lists(failed_items, max_size=5).map(tuple),
    warnings=st.lists(st.text(max_size=10), max_size=2).map(tuple),
)


@given(results)
def test_invariants(result: PartialResult[str]) -> None:
    """Exactly one of complete / partial / failure-or-empty holds, and the rate matches."""
    assert result.total == len(result.succeeded) + len(result.failed)
    assert 0.0 <= result.success_rate <= 1.0
    assert result.is_complete == (not result.failed)
    assert not (result.is_partial and (result.is_complete or result.is_failure))
    if result.total:
        assert result.success_rate == len(result.succeeded) / result.total


@given(results)
def test_cattrs_round_trip_through_json(result: PartialResult[str]) -> None:
    """Unstructure -> JSON -> structure gives back an equal PartialResult."""
    data = json.loads(json.dumps(unstructure(result)))
    assert structure(data, PartialResult[str]) == result


def test_structure_reports_bad_paths() -> None:
    """Data that does not fit is an invalid-input error listing each bad path."""
    with pytest.raises(InvalidInputError) as info:
        structure({"succeeded": [1], "failed": [{"key": "x"}]}, PartialResult[str])
    assert info.value.details["problems"]


def test_failed_item_keeps_the_payload_and_hides_internals() -> None:
    """Our errors keep their payload; an unexpected exception becomes a generic internal error."""
    item = FailedItem.from_exception("requests", PackageNotFoundError("requests"))
    assert item.error.error_type == "package_not_found"
    assert item.error.to_payload() == PackageNotFoundError("requests").to_payload()
    bug = FailedItem.from_exception("x", RuntimeError("secret path /home/me/token"))
    assert bug.error.error_type == "internal_error"
    assert "secret" not in json.dumps(bug.error.to_payload())


def test_collect_and_rates() -> None:
    """A result with one success and one failure is partial, at 50%."""
    r = PartialResult.collect(["a"], [FailedItem.from_exception("b", UpstreamServerError(503))])
    assert r.is_partial and not r.is_complete and not r.is_failure
    assert r.success_rate == 0.5
    assert PartialResult().is_complete and PartialResult().success_rate == 1.0
