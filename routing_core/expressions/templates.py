"""Message texts and values are Jinja2 templates rendered in the sandbox.

The sandbox refuses attribute tricks (``__class__``, ``mro``…); rendering errors become a
clear text in the error event instead of a crash. A template must also not stall the
worker or fill its memory, so every render gets an allowance: loop iterations and calls
(macros recursing included) are counted and the render stops after ``MAX_STEPS`` of them
or ``MAX_SECONDS``; ``range`` is capped; repetitions (``'x' * n``), powers and padding
widths that would build huge values are refused before they are computed, and so is
every filter, global and operator that can grow a text (``join``, ``lipsum``, ``format``,
``%``, ``tojson``, ``wordwrap``, ``~``, ``*``): the size of its result is estimated from
its inputs first; and the output is collected only up to ``MAX_OUTPUT`` characters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from string import Formatter
from typing import Any

from jinja2 import TemplateError, Undefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

MAX_OUTPUT = 10_000
MAX_VALUE = 100_000  # the largest string or sequence an operation may build
MAX_RANGE = 10_000
MAX_STEPS = 100_000  # loop iterations and calls per render
MAX_SECONDS = 0.5
MAX_POWER_BITS = 100_000
MAX_INDENT = 16  # tojson's indent
MAX_LIPSUM_PARAGRAPHS = 10
MAX_LIPSUM_WORDS = 100
_NUMBERS = re.compile(r"\d+")
_PERCENT_SPECS = re.compile(r"%[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?")
CHECKED_FILTERS = ("center", "indent", "format", "replace", "slice")


class TemplateFailure(Exception):
    """A template could not be rendered; the message says why, for the events list."""


class _LenientUndefined(Undefined):
    """A missing variable renders as an empty string, as a chatbot author expects."""


class _Allowance:
    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise SecurityError(f"the template takes more than {MAX_STEPS} steps")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise SecurityError(f"the template takes more than {MAX_SECONDS:g} s")


_allowance: ContextVar[_Allowance] = ContextVar("template_allowance")


def _spend() -> None:
    allowance = _allowance.get(None)
    if allowance is None:  # rendered outside render()/evaluate(): give it its own
        allowance = _Allowance()
        _allowance.set(allowance)
    allowance.spend()


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} numbers")
    return numbers


def _check_widths(specs: Iterable[str]) -> None:
    """Widths and precisions stay small and are written in the template (``*`` and nested
    fields could bring any number)."""
    for spec in specs:
        if "*" in spec or "{" in spec or any(
            int(number) > MAX_OUTPUT for number in _NUMBERS.findall(spec)
        ):
            raise SecurityError(f"format widths are numbers up to {MAX_OUTPUT}")


def _check_percent_format(text: str) -> None:
    _check_widths(_PERCENT_SPECS.findall(text))


def _check_brace_format(text: str) -> None:
    _check_widths(spec for _, _, spec, _ in Formatter().parse(text) if spec)


def _check_numbers(args: Iterable[Any]) -> None:
    if any(isinstance(value, int) and abs(value) > MAX_VALUE for value in args):
        raise SecurityError(f"numbers given to text functions are limited to {MAX_VALUE}")


def _check_replacement(text: Any, args: tuple[Any, ...]) -> None:
    if isinstance(text, str) and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        grown = (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old))
        if len(text) + grown > MAX_VALUE:
            raise SecurityError(f"replace() would build more than {MAX_VALUE} characters")


def _too_big(size: int, what: str) -> None:
    if size > MAX_VALUE:
        raise SecurityError(f"{what} would build more than {MAX_VALUE} characters")


def _longest(values: Iterable[Any]) -> int:
    return max((len(str(value)) for value in values), default=0)


def _check_brace_format_size(text: str, values: Iterable[Any]) -> None:
    """Each replacement field may bring the longest argument."""
    fields = sum(1 for _, name, _, _ in Formatter().parse(text) if name is not None)
    _too_big(len(text) + fields * _longest(values), "format()")


def _check_percent_format_size(text: str, values: Any) -> None:
    if isinstance(values, dict):
        values = values.values()
    elif not isinstance(values, tuple | list):
        values = (values,)
    fields = len(_PERCENT_SPECS.findall(text))
    _too_big(len(text) + fields * _longest(values), "%-formatting")


def _checked_concat(parts: list[Any]) -> str:
    """The ``~`` operator, refusing a result over ``MAX_VALUE`` before it is built."""
    texts = [str(part) for part in parts]
    _too_big(sum(len(text) for text in texts), "~")
    return "".join(texts)


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if not 0 <= n <= MAX_LIPSUM_PARAGRAPHS or not 0 < min <= max <= MAX_LIPSUM_WORDS:
        raise SecurityError(f"lipsum() makes up to {MAX_LIPSUM_PARAGRAPHS} paragraphs of up "
                            f"to {MAX_LIPSUM_WORDS} words")
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


def _check_text_method(text: str, name: str, args: tuple[Any, ...],
                       kwargs: dict[str, Any]) -> None:
    if name in ("format", "format_map"):
        _check_brace_format(text)
        mapped = args[0].values() if name == "format_map" and args and isinstance(
            args[0], dict) else ()
        _check_brace_format_size(text, (*args, *kwargs.values(), *mapped))
    elif name == "replace":
        _check_replacement(text, args)
    elif name == "join" and args and isinstance(args[0], list | tuple):
        if len(text) * len(args[0]) + sum(len(str(item)) for item in args[0]) > MAX_VALUE:
            raise SecurityError(f"join() would build more than {MAX_VALUE} characters")
    else:  # center, ljust, zfill, expandtabs…: their numbers are sizes
        _check_numbers((*args, *kwargs.values()))


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple | bytes)


class _ConcatChecker(NodeTransformer):
    """Every ``a ~ b`` becomes ``checked_concat([a, b])``."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802 (Jinja's visitor names)
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("checked_concat"),
                          [nodes.List(node.nodes)], [], None, None, lineno=node.lineno)


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with an allowance per render (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        for name in CHECKED_FILTERS:
            self.filters[name] = self._checked_filter(self.filters[name])
        self.filters["join"] = self._bounded_join(self.filters["join"])
        self.filters["tojson"] = self._bounded_tojson(self.filters["tojson"])
        self.filters["wordwrap"] = self._bounded_wordwrap(self.filters["wordwrap"])
        self.checked_concat = _checked_concat

    @staticmethod
    def _bounded_join(original: Any) -> Any:
        def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
            items = list(value) if attribute is None else value
            if attribute is None:
                _too_big(len(str(d)) * max(len(items) - 1, 0)
                         + sum(len(str(item)) for item in items), "join")
            return original(eval_ctx, items, d, attribute)

        join.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return join

    @staticmethod
    def _bounded_tojson(original: Any) -> Any:
        def tojson(eval_ctx: Any, value: Any, indent: int | None = None) -> Any:
            if indent is not None and not (isinstance(indent, int)
                                           and 0 <= indent <= MAX_INDENT):
                raise SecurityError(f"tojson's indent is a number up to {MAX_INDENT}")
            result = original(eval_ctx, value, indent)
            _too_big(len(result), "tojson")
            return result

        tojson.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return tojson

    @staticmethod
    def _bounded_wordwrap(original: Any) -> Any:
        def wordwrap(environment: Any, s: str, width: int = 79, break_long_words: bool = True,
                     wrapstring: str | None = None, break_on_hyphens: bool = True) -> Any:
            _check_numbers((width,))
            lines = len(str(s)) // max(int(width), 1) + 1
            _too_big(len(str(s)) + lines * len(wrapstring or "\n"), "wordwrap")
            return original(environment, s, width, break_long_words, wrapstring,
                            break_on_hyphens)

        wordwrap.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return wordwrap

    @staticmethod
    def _checked_filter(original: Any) -> Any:
        """The filter, refusing parameters that would build a huge value."""
        passes_argument = hasattr(original, "jinja_pass_arg")
        name = original.__name__

        def checked(*args: Any, **kwargs: Any) -> Any:
            value, *parameters = args[1:] if passes_argument else args
            if name == "do_format":
                _check_percent_format(str(value))
                _check_percent_format_size(str(value), (*parameters, *kwargs.values()))
            elif name == "do_replace":
                _check_replacement(str(value), tuple(parameters))
            else:
                _check_numbers((*parameters, *kwargs.values()))
            return original(*args, **kwargs)

        if passes_argument:  # Jinja passes the environment or context first, as before
            checked.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return checked

    def counted(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Every ``for`` loop iterates through this (see ``compile_bounded``)."""
        for item in iterable:
            _spend()
            yield item

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_POWER_BITS:
                raise SecurityError("the power is too large")
        elif operator == "*":
            sequence, times = (left, right) if _sized(left) else (right, left)
            if _sized(sequence) and isinstance(times, int) and len(sequence) * times > MAX_VALUE:
                raise SecurityError(f"a repetition is limited to {MAX_VALUE} items")
            if (isinstance(left, int) and isinstance(right, int)
                    and left.bit_length() + right.bit_length() > MAX_POWER_BITS):
                raise SecurityError("the product is too large")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
            _check_percent_format_size(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            _check_text_method(owner, getattr(method, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def compile_bounded(self, source: str) -> Any:
        """The template, with every ``for`` loop counted and every ``~`` checked."""
        return self.from_string(self.parse(source))

    def from_string(self, source: Any, *args: Any, **kwargs: Any) -> Any:
        """Both templates and single expressions (``compile_expression``) come through
        here as trees: the bounds go into the tree before it is compiled."""
        if isinstance(source, nodes.Template):
            for loop in source.find_all(nodes.For):
                loop.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [loop.iter], [],
                                       None, None)
            source = _ConcatChecker().visit(source)
        return super().from_string(source, *args, **kwargs)


_environment = BoundedSandbox(undefined=_LenientUndefined, autoescape=False)
_FAILURES = (TemplateError, ArithmeticError, TypeError, ValueError, AttributeError,
             RecursionError, MemoryError)


@lru_cache(maxsize=4096)
def _compiled(source: str):  # type: ignore[no-untyped-def]
    return _environment.compile_bounded(source)


@lru_cache(maxsize=4096)
def _compiled_expression(expression: str):  # type: ignore[no-untyped-def]
    """Compiled once per source: compiling costs more than evaluating, and a routing
    evaluates the same few expressions for every message."""
    return _environment.compile_expression(expression)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render(source: str, scope: dict[str, Any]) -> str:
    if not is_template(source):
        return source
    token = _allowance.set(_Allowance())
    try:
        return _collect(_compiled(source).generate(scope))
    except _FAILURES as error:
        raise TemplateFailure(f"template error: {error}") from None
    finally:
        _allowance.reset(token)


def _collect(chunks: Iterator[str]) -> str:
    """The output up to MAX_OUTPUT characters; the rest is never produced."""
    collected: list[str] = []
    size = 0
    for chunk in chunks:
        collected.append(chunk)
        size += len(chunk)
        if size >= MAX_OUTPUT:
            break
        _spend()
    return "".join(collected)[:MAX_OUTPUT]


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    """A template that is exactly one expression keeps its type (number, list…; None if
    undefined)."""
    stripped = source.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        token = _allowance.set(_Allowance())
        try:
            expression = _compiled_expression(stripped[2:-2].strip())
            return expression(**scope)
        except TemplateError:
            return render(source, scope)
        except _FAILURES as error:
            raise TemplateFailure(f"template error: {error}") from None
        finally:
            _allowance.reset(token)
    return render(source, scope)
