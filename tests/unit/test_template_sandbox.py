"""Template attacks in message texts stay inside the sandbox and finish quickly.

Each case is a text a routing author could type; rendering it must either give an
ordinary result or fail with ``TemplateFailure`` (an error event), within a second, and
never build a huge value.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from routing_core.expressions.templates import (
    MAX_OUTPUT,
    MAX_RANGE,
    TemplateFailure,
    evaluate,
    render,
)

SCOPE: dict[str, Any] = {
    "contact": {"name": "Ada", "phone": "+33612345678"},
    "vars": {"amount": 1234567, "fruits": ["a", "b", "c"]},
    "message": {"text": "x" * 2000},
    "interaction": {"id": "i1"},
}

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ request.application.__globals__ }}",
    "{{ config.items() }}",
    "{{ contact.__class__.__base__.__subclasses__() }}",
    "{{ ''|attr('__class__') }}",
    "{{ (''|attr('\\x5f\\x5fclass\\x5f\\x5f')).__mro__ }}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{{ range.__call__.__globals__ }}",
    "{{ vars.fruits.__class__.__init__.__globals__ }}",
    "{{ 'a'.format.__globals__ }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ '%s'|format(''.__class__) }}",
]

EXHAUSTION = [
    "{% for x in range(10**9) %}{% endfor %}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ range(10**9)|list|length }}",
    "{% for a in range(9999) %}{% for b in range(9999) %}{% endfor %}{% endfor %}",
    "{% for a in message.text %}{% for b in message.text %}{% for c in message.text %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% for a in range(9999) %}{% for b in range(9999) %}{{ a }}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% macro f(n) %}{% for i in range(3) %}{{ f(n) }}{% endfor %}{% endmacro %}{{ f(1) }}",
    "{{ 9**(9**9) }}",  # Jinja's ** is left-associative: 9**9**9 is small
    "{{ 2**100000000 }}",
    "{{ 'x' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 10**60000 * 10**60000 }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.zfill(10**9) }}",
    "{{ ('x\\ty').expandtabs(10**9) }}",
    "{{ 'a\\nb'|indent(10**9) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '%*d'|format(999999999, 1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:>{}}'.format(1, 999999999) }}",
    "{{ ('x' * 9999).replace('x', 'x' * 9999) }}",
    "{{ ('x' * 9999)|replace('x', 'x' * 9999) }}",
    "{{ ('x' * 9999).join(['y' * 9999] * 10) }}",
    "{{ range(10)|slice(10**9)|list }}",
]

ORDINARY = [
    ("Hello {{ contact.name }}", "Hello Ada"),
    ("{% for item in vars.fruits %}{{ item }}{% endfor %}", "abc"),
    ("{{ range(3)|list }}", "[0, 1, 2]"),
    ("{{ '%.2f'|format(vars.amount) }}", "1234567.00"),
    ("{{ '{} €'.format(vars.amount) }}", "1234567 €"),
    ("{{ '%05d' % 42 }}", "00042"),
    ("{{ 'ab'|center(6) }}", "  ab  "),
    ("{{ 'ab' * 3 }}", "ababab"),
    ("{{ 2 ** 10 }}", "1024"),
    ("{{ contact.phone|replace('+33', '0') }}", "0612345678"),
    ("{{ ', '.join(vars.fruits) }}", "a, b, c"),
    ("{{ missing }}", ""),
]


def quickly(source: str) -> str | None:
    """The rendering (None when refused), which must take under a second."""
    started = time.monotonic()
    try:
        output: str | None = render(source, SCOPE)
    except TemplateFailure:
        output = None
    assert time.monotonic() - started < 1.0, f"{source!r} took too long"
    return output


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_stay_inside_the_sandbox(source: str) -> None:
    output = quickly(source)
    assert output is None or not any(
        secret in output for secret in ("<class", "function", "module", "uid=", "os.")
    ), output


@pytest.mark.parametrize("source", EXHAUSTION)
def test_exhaustion_is_refused_in_time(source: str) -> None:
    output = quickly(source)
    assert output is None or len(output) <= MAX_OUTPUT


@pytest.mark.parametrize("source", [s for s in EXHAUSTION if s.startswith("{{") and
                                    s.count("{{") == 1])
def test_single_expressions_are_bounded_too(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateFailure):
        evaluate(source, SCOPE)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("source", "expected"), ORDINARY)
def test_ordinary_templates_still_work(source: str, expected: str) -> None:
    assert render(source, SCOPE) == expected


def test_output_is_cut_at_the_cap() -> None:
    output = render("{% for x in range(5000) %}{{ 'abcdefghij' }}{% endfor %}", SCOPE)
    assert len(output) == MAX_OUTPUT


def test_range_is_capped() -> None:
    assert render(f"{{{{ range({MAX_RANGE})|length }}}}", SCOPE) == str(MAX_RANGE)
    with pytest.raises(TemplateFailure, match="range"):
        render(f"{{{{ range({MAX_RANGE + 1})|length }}}}", SCOPE)


def test_each_render_gets_a_fresh_allowance() -> None:
    busy = "{% for a in range(9000) %}{% endfor %}{{ 'done' }}"
    for _ in range(30):  # 270,000 iterations in all: more than one render's allowance
        assert render(busy, SCOPE) == "done"


# What a red-team pass built with the bounds above in place (issue 16): each grows a text
# through a filter, a global or an operator whose result size was not checked.
GROWTH = [
    "{{ (range(10000)|join('x' * 100000))|length }}",
    "{{ lipsum(100000) }}",
    "{{ lipsum(5, max=10**7) }}",
    "{{ ('{0}' * 30000).format('x' * 100000) }}",
    "{{ ('{a}' * 30000).format_map({'a': 'x' * 100000}) }}",
    "{{ ('%s' * 30000) % (('x' * 99999,) * 30000) }}",
    "{{ ('%s' * 30000)|format(*(('x' * 99999,) * 30000)) }}",
    "{{ (range(10000)|list)|tojson(indent=100000) }}",
    "{{ ('x ' * 50000)|wordwrap(1, wrapstring='y' * 100000) }}",
    "{% set ns = namespace(s='x' * 100000) %}{% for i in range(15) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{{ ('x' * 100000) ~ ('x' * 100000) }}",
]


@pytest.mark.parametrize("source", GROWTH)
def test_growth_is_refused_before_the_value_is_built(source: str) -> None:
    tracemalloc.start()
    try:
        output = quickly(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert output is None, output[:80] if output else output
    assert peak < 20_000_000, f"{source!r} allocated {peak:,} bytes"


@pytest.mark.parametrize("source", [s for s in GROWTH if s.startswith("{{") and
                                    s.count("{{") == 1])
def test_growth_in_single_expressions_is_refused_too(source: str) -> None:
    with pytest.raises(TemplateFailure):
        evaluate(source, SCOPE)


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ vars.fruits|join(', ') }}", "a, b, c"),
    ("{{ 'a' ~ 'b' ~ contact.name }}", "abAda"),
    ("{{ vars.fruits|tojson(indent=2)|length > 10 }}", "True"),
    ("{{ 'one two three'|wordwrap(5) }}", "one\ntwo\nthree"),
    ("{{ lipsum(1, html=False, min=3, max=4)|wordcount }}", "3"),
    ("{{ '{0}-{0}'.format(contact.name) }}", "Ada-Ada"),
])
def test_growing_filters_still_work_in_bounds(source: str, expected: str) -> None:
    assert render(source, SCOPE) == expected
