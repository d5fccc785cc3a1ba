"""A refusal that names something is raised as ``Words("…%(name)r…", name=…)`` so a page
can say it in its viewer's language: each sentence names exactly the values it is given
(a missing one would fail at the very moment a person is refused), and reads the same in
English as the f-string it replaced."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from routing_core.infra.errors import Invalid, Words

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def _words_calls() -> list[tuple[str, int, str, set[str]]]:
    found = []
    for folder in ("routing_core", "admin", "bots", "connectors"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Words":
                    template = node.args[0]
                    assert isinstance(template, ast.Constant), f"{path}:{node.lineno}"
                    found.append((str(path.relative_to(ROOT)), node.lineno, template.value,
                                  {keyword.arg for keyword in node.keywords if keyword.arg}))
    return found


def test_every_sentence_names_exactly_the_values_it_is_given() -> None:
    calls = _words_calls()
    assert len(calls) > 100
    wrong = [(path, line) for path, line, template, given in calls
             if set(PLACEHOLDER.findall(template)) != given]
    assert wrong == []


def test_a_refusal_reads_in_english_as_written_and_keeps_its_sentence() -> None:
    refused = Invalid(Words("no queue named %(name)r", name="Ventes"), field="queue")
    assert refused.message == "no queue named 'Ventes'" and refused.field == "queue"
    assert refused.worded == ("no queue named %(name)r", {"name": "Ventes"})
    plain = Invalid("Start cannot be moved")
    assert plain.worded == ("Start cannot be moved", {})
    long = Invalid(Words("no queue named %(name)r", name="x" * 80))
    assert long.message == f"no queue named '{'x' * 40}…'"  # a long value is shortened
