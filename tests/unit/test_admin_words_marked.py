"""Every word the admin panel's templates show is marked for translation.

A word left unmarked stays English in every language, and no catalogue test can see it:
this one reads the templates as a translator's tool would miss them — text between tags,
the titles and headings of blocks, attributes people read (placeholder, title,
aria-label, label) and sentences written as string literals inside expressions. Words
kept in Python are marked where they are written (``phrase()``, ``marked()``, a column's
label) and listed by ``make i18n``.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "admin" / "templates"


MARKED = re.compile(r"""(?:_|gettext|ngettext)\(\s*('[^']*'|"[^"]*")(\s*,\s*('[^']*'|"[^"]*"))?""")
LITERAL = re.compile(r"""'([^']*)'|"([^"]*)\"""")
SENTENCE = re.compile(r"[A-Za-z]{2,}(\s+[A-Za-z]+)+|^[A-Z][a-z]+$")
CSS_CLASSES = re.compile(r"^(button|tag|chip|field|inline-form)( [a-z-]+)*$")
PROPER_NAMES = {"Telegram", "Messenger", "WhatsApp"}  # the same in every language
NOT_WORDS = re.compile(r"[\W\d]*|SR|smart-routing|· smart-routing|&times;|ms—|call_after")
EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def unmarked(source: str) -> list[str]:
    """The words of a template that no ``_()`` / ``{% trans %}`` marks."""
    found = []
    text = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    text = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", "", text, flags=re.S)
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", text, flags=re.S)
    for expression in EXPRESSION.findall(text):
        for match in LITERAL.finditer(MARKED.sub("", expression)):
            literal = match.group(1) if match.group(1) is not None else match.group(2)
            if SENTENCE.search(literal) and not CSS_CLASSES.match(literal) and (
                    literal not in PROPER_NAMES):
                found.append(literal)
    headings = re.compile(r"\{%\s*block (?:title|heading)\s*%\}(.*?)\{%\s*endblock\s*%\}", re.S)
    for block in headings.finditer(text):
        rest = EXPRESSION.sub("", re.sub(r"<[^>]*>[^<]*</[^>]*>", "", block.group(1))).strip()
        if rest and not NOT_WORDS.fullmatch(rest):
            found.append(rest)
    text = headings.sub("", text)
    bare = EXPRESSION.sub("", text)
    for match in re.finditer(r">([^<>]*[A-Za-z]{2,}[^<>]*)<", bare):
        words = match.group(1).strip()
        if words and not NOT_WORDS.fullmatch(words):
            found.append(words)
    for match in re.finditer(r'(?:placeholder|title|aria-label|label)="([^"]*[A-Za-z]{3,}[^"]*)"',
                             bare):
        found.append(match.group(1))
    return found


def test_the_scanner_finds_what_a_translator_would_miss() -> None:
    assert unmarked('<p>Hello {{ name }}</p>') == ["Hello"]
    assert unmarked('{% block title %}Rows of {{ table }}{% endblock %}') == ["Rows of"]
    assert unmarked('<input placeholder="Type a name">') == ["Type a name"]
    assert unmarked("{{ 'Edit a row' if row else 'New row' }}") == ["Edit a row", "New row"]
    assert unmarked('<p>{{ _("Hello %(name)s", name=name) }}</p>'
                    '{% trans %}Nice day{% endtrans %}'
                    '<a class="{{ \'button small\' }}" href="{{ url }}">{{ _("Go") }}</a>') == []


def test_every_page_marks_its_words_for_translation() -> None:
    found = {path.relative_to(TEMPLATES).as_posix(): words
             for path in sorted(TEMPLATES.rglob("*.html"))
             if (words := unmarked(path.read_text(encoding="utf-8")))}
    assert not found, f"words not marked for translation (wrap them in _()): {found}"
