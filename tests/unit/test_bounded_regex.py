"""Regular expressions in conditions and answer checks are bounded in length and time.

Patterns are typed by authors, or come from templates at run time (so from data); either
way a match answers, or fails with ``RegexTimeout`` (an error event), quickly.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing_core.actions.base import validate_params
from routing_core.expressions.conditions import holds
from routing_core.expressions.values import MAX_INPUT, MAX_PATTERN, RegexTimeout, bounded_match
from routing_core.infra.errors import Invalid

# seconds: the limit is 0.05 s of matching, plus compiling. Far above it, so that a busy
# 2-core machine (a pause of the collector, another process) cannot fail it, and far below
# what an unbounded catastrophic pattern takes here (hours: 2**40 steps for "(a+)+$")
PATIENCE = 2.0

CATASTROPHIC = [
    ("(a+)+$", "a" * 40 + "!"),
    ("(a|aa)+$", "a" * 60 + "b"),
    ("(a|a)*b", "a" * 60),
    ("(.*a){25}", "a" * 24),
    ("^(\\w+\\s?)*$", "word " * 30 + "!"),
    ("(x+x+)+y", "x" * 60),
]


def timed(pattern: str, text: str, full: bool = False) -> bool | None:
    """The match (None when refused), which must come within PATIENCE."""
    started = time.monotonic()
    try:
        matched: bool | None = bounded_match(pattern, text, full=full)
    except RegexTimeout:
        matched = None
    assert time.monotonic() - started < PATIENCE, f"{pattern!r} took too long"
    return matched


@pytest.mark.parametrize(("pattern", "text"), CATASTROPHIC)
def test_catastrophic_backtracking_is_cut_short(pattern: str, text: str) -> None:
    assert timed(pattern, text) in (None, False)


def test_a_timeout_is_an_error_not_a_false() -> None:
    with pytest.raises(RegexTimeout, match="too long"):
        bounded_match("(a|aa)+$", "a" * 60 + "b")


def test_long_patterns_are_refused_before_compiling() -> None:
    with pytest.raises(RegexTimeout, match="longer than"):
        bounded_match("a" * (MAX_PATTERN + 1), "a")
    assert timed("a" * MAX_PATTERN, "a" * MAX_PATTERN) is True


def test_deeply_nested_patterns_are_refused_not_a_crash() -> None:
    depth = MAX_PATTERN // 2 - 1
    assert timed("(" * depth + "a" + ")" * depth, "a") in (True, None)


def test_invalid_patterns_are_errors() -> None:
    with pytest.raises(RegexTimeout, match="invalid"):
        bounded_match("(unclosed", "text")


def test_long_inputs_are_read_up_to_the_cap() -> None:
    text = "a" * (MAX_INPUT * 100) + "needle"
    assert timed("needle", text) is False  # beyond MAX_INPUT: not read at all
    assert timed(f"a{{{MAX_INPUT}}}", text) is True


def test_conditions_use_the_bounded_matcher() -> None:
    assert holds("Order 12345", "matches", "\\d{5}") is True
    assert holds("Order", "matches", "(?i)^order$") is True
    with pytest.raises(RegexTimeout):
        holds("a" * 60 + "b", "matches", "(a|aa)+$")
    with pytest.raises(RegexTimeout):
        holds("text", "matches", "x" * (MAX_PATTERN + 1))  # a pattern from a template


@pytest.mark.parametrize("params", [
    {"text": "Code?", "into": "code", "validation": "regex", "pattern": "x" * (MAX_PATTERN + 1)},
    {"text": "Code?", "into": "code", "validation": "regex", "pattern": "(unclosed"},
])
def test_literal_patterns_are_checked_when_saved(params: dict[str, str]) -> None:
    with pytest.raises(Invalid):
        validate_params("message_wait", params)


def test_long_literal_patterns_in_conditions_are_refused_when_saved() -> None:
    condition = {"left": "{{ message.text }}", "operator": "matches",
                 "right": "x" * (MAX_PATTERN + 1)}
    with pytest.raises(Invalid):
        validate_params("values_test", {"cases": [{"branch": "yes", "conditions": [condition]}]})


REGEX_ALPHABET = "()[]{}*+?|.^$\\ab01,-:=!<>"


@settings(max_examples=300, deadline=None, database=None)
@given(pattern=st.text(alphabet=REGEX_ALPHABET, max_size=40),
       text=st.text(alphabet="ab01 !", max_size=200),
       full=st.booleans())
def test_any_pattern_answers_or_refuses_quickly(pattern: str, text: str, full: bool) -> None:
    assert timed(pattern, text, full) in (True, False, None)
