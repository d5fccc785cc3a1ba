"""Message texts and values are Jinja2 templates rendered in the sandbox.

The sandbox refuses attribute tricks (``__class__``, ``mro``…); rendering errors become a
clear text in the error event instead of a crash, and output is bounded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT = 10_000


class TemplateFailure(Exception):
    """A template could not be rendered; the message says why, for the events list."""


class _LenientUndefined(Undefined):
    """A missing variable renders as an empty string, as a chatbot author expects."""


_environment = SandboxedEnvironment(undefined=_LenientUndefined, autoescape=False)


@lru_cache(maxsize=4096)
def _compiled(source: str):  # type: ignore[no-untyped-def]
    return _environment.from_string(source)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render(source: str, scope: dict[str, Any]) -> str:
    if not is_template(source):
        return source
    try:
        output = _compiled(source).render(scope)
    except TemplateError as error:
        raise TemplateFailure(f"template error: {error}") from None
    except (ArithmeticError, TypeError, ValueError, AttributeError) as error:
        raise TemplateFailure(f"template error: {error}") from None
    return output[:MAX_OUTPUT]


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    """A template that is exactly one expression keeps its type (number, list…; None if
    undefined)."""
    stripped = source.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        try:
            expression = _environment.compile_expression(stripped[2:-2].strip())
            return expression(**scope)
        except TemplateError:
            return render(source, scope)
        except (ArithmeticError, TypeError, ValueError, AttributeError) as error:
            raise TemplateFailure(f"template error: {error}") from None
    return render(source, scope)
