"""``python -m admin.pages.word_catalogue`` (``make i18n``): the admin panel's words to
translate — the templates' ``_()`` and every navigation entry's section and label — into
``admin/translations/messages.pot``, merged into each language's ``messages.po``."""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

import admin.pages  # noqa: F401  (each page area registers its navigation entry)
from admin.i18n import PAGES, TEMPLATES, TRANSLATIONS, languages
from admin.pages import catalogue, forms
from admin.pages.nav import all_entries
from admin.pages.resources import RESOURCES
from routing_core.infra import sentences

ROOT = PAGES.parents[1]
# what a page may show of a refusal: the sentences the domain and the pages raise
REFUSING = ("routing_core", "admin", "bots", "connectors")
REFUSALS = ("Invalid", "Conflict", "NotFound", "Forbidden", "DomainError", "Unauthenticated",
            "NotReplayable", "SimulatorRefused", "CsrfRefused")


def record_nouns() -> list[str]:
    """What a generic refusal calls a record ("no %(what)s named …"): each repository's
    label and each reference catalogue's noun."""
    import routing_core.reference  # noqa: F401  (the reference catalogues)
    from routing_core.reference.catalogue import Catalogue
    from routing_core.store.repository import Repository

    def below(kind: type) -> list[type]:
        return [found for sub in kind.__subclasses__() for found in (sub, *below(sub))]

    nouns = [getattr(kind, "label", None) for kind in below(Repository)]
    nouns += [getattr(kind, "what", None) for kind in below(Catalogue)]
    return sorted({noun for noun in nouns if isinstance(noun, str) and noun})


def extracted() -> Catalog:
    """Every word to translate: the templates' ``_()``, the pages' ``phrase()``,
    ``marked()`` and columns' labels, the navigation's and the reference pages' sentences."""
    catalog = Catalog(project="smart-routing admin panel", charset="utf-8")
    for filename, lineno, message, comments, _context in extract_from_dir(
            str(TEMPLATES), method_map=[("**.html", "jinja2")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
        catalog.add(message, locations=[(f"admin/templates/{filename}", lineno)],
                    auto_comments=comments)
    for filename, lineno, message, comments, _context in extract_from_dir(
            str(PAGES), method_map=[("*.py", "python")],
            keywords={"phrase": None, "phrases": (1, 2), "marked": None, "Column": (1,)}):
        catalog.add(message, locations=[(f"admin/pages/{filename}", lineno)],
                    auto_comments=comments)
    for entry in all_entries():
        for word in (entry.section, entry.label):
            catalog.add(word, locations=[("admin/pages/nav.py", 1)])
    for word in catalogue.english_words():  # the action types', from the registry
        catalog.add(word, locations=[("admin/pages/catalogue.py", 1)])
    for word in forms.english_words():  # their forms', from their models
        catalog.add(word, locations=[("admin/pages/forms.py", 1)],
                    flags=["python-format"] if "%(" in word else [])
    refusals = {name: None for name in ("Words", *REFUSALS)}  # their first argument
    for folder in REFUSING:
        for filename, lineno, message, comments, _context in extract_from_dir(
                str(ROOT / folder), method_map=[("**.py", "python")], keywords=refusals):
            if not any(letter.isalpha() for letter in message):  # "; ".join(…)
                continue
            catalog.add(message, locations=[(f"{folder}/{filename}", lineno)],
                        auto_comments=comments,
                        flags=["python-format"] if "%(" in message else [])
    for noun in record_nouns():
        catalog.add(noun, locations=[("routing_core/store/repository.py", 1)])
    for sentence in sentences.SENTENCES:  # what a refused value is told, next to its field
        catalog.add(sentence, locations=[("routing_core/infra/sentences.py", 1)],
                    flags=["python-format"] if "%(" in sentence else [])
    for resource in RESOURCES:  # the sentences each noun makes (ResourceWords)
        for sentence in vars(resource.words).values():
            catalog.add(sentence, locations=[("admin/pages/resources.py", 1)],
                        flags=["python-format"] if "%(" in sentence else [])
    return catalog


def write_catalogues() -> None:
    """messages.pot again, merged into each language's messages.po (kept translations)."""
    template = extracted()
    with (TRANSLATIONS / "messages.pot").open("wb") as target:
        write_po(target, template, omit_header=True, sort_output=True, no_location=True)
    for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with path.open("rb") as source:
            catalog = read_po(source, locale=path.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a translator's work is never discarded as fuzzy
        with path.open("wb") as target:
            write_po(target, catalog, sort_output=True, no_location=True, ignore_obsolete=True)


def main(arguments: list[str]) -> int:  # noqa: ARG001
    write_catalogues()
    print(f"{TRANSLATIONS / 'messages.pot'} and {len(languages()) - 1} catalogue(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
