"""Checks that were regexes compiled on first use and are plain string checks now (so a
cold start compiles nothing for them): each agrees with the regex it replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.common import is_document_id, is_reserved_name
from shared.errors import InvalidInput
from shared.events import match_params, task_event

PATTERN = "companies/{companyId}/leads/{leadId}"
SEGMENTS = st.sampled_from(["companies", "leads", "acme", "l1", "", "_", "__x__", "é"])


def reference_match(pattern: str, document: str) -> dict[str, str] | None:
    """The regex match_params used to build."""
    regex = "/".join(
        f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in pattern.split("/")
    )
    found = re.fullmatch(regex, document)
    return None if found is None else found.groupdict()


@given(st.lists(SEGMENTS, min_size=0, max_size=6).map("/".join))
def test_match_params_binds_what_the_regex_bound(document: str) -> None:
    expected = reference_match(PATTERN, document)
    if expected is None:
        with pytest.raises(InvalidInput, match="does not match"):
            match_params(PATTERN, document)
    else:
        assert expected == match_params(PATTERN, document)


def test_match_params_examples() -> None:
    assert {"companyId": "acme", "leadId": "l1"} == match_params(PATTERN, "companies/acme/leads/l1")
    for document in ("companies/acme/leads", "companies//leads/l1", "companies/a/leads/l1/x"):
        with pytest.raises(InvalidInput):
            match_params(PATTERN, document)


@given(st.text(alphabet="_a/.é", max_size=8))
def test_reserved_names_are_the_regex_s(value: str) -> None:
    assert (re.fullmatch(r"__.*__", value, re.DOTALL) is not None) == is_reserved_name(value)


def test_document_ids() -> None:
    assert [True, False, False, False, False, True] == [
        is_document_id(v) for v in ("acme", "", "a/b", "..", "__x__", "___")
    ]


@given(st.text(alphabet="0123456789¹٣a -", max_size=11))
def test_task_counts_read_as_the_regex_read_them(raw: str) -> None:
    expected = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else 0
    event = task_event({"X-CloudTasks-TaskRetryCount": raw}, {})
    assert expected == event.retry_count
