"""The admin panel in the viewer's language: gettext catalogues read by Babel.

Templates mark their words with ``_()`` (Jinja's i18n extension), the pages' Python their
sentences (flashes) with ``phrase()``; the navigation's sections and labels, registered by
each page area, are translated where they are shown.
``admin/translations/messages.pot`` lists every word to translate — the templates' and
the navigation's — and ``python -m admin.pages.word_catalogue`` (``make i18n``) writes it again
and merges it into each language's ``messages.po``, which translators fill in. The catalogues
are read from the ``.po`` files at start-up (no compiled file in the repository); the
language is the browser's first one that has a catalogue, else English.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from quart import Quart, g, has_app_context, request

from routing_core.infra.errors import DomainError, put_in, shortened

TRANSLATIONS = Path(__file__).parent / "translations"
TEMPLATES = Path(__file__).parent / "templates"
PAGES = Path(__file__).parent / "pages"
DEFAULT_LANGUAGE = "en"
_catalogues: dict[str, gettext.GNUTranslations] = {}


def languages() -> list[str]:
    """English (the words as written) and every language with a catalogue."""
    return [DEFAULT_LANGUAGE, *sorted(path.parent.parent.name for path in
                                      TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))]


def _load() -> None:
    for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with path.open("rb") as source:
            catalog = read_po(source)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        _catalogues[path.parent.parent.name] = gettext.GNUTranslations(compiled)


def viewer_language() -> str:
    return request.accept_languages.best_match(languages()) or DEFAULT_LANGUAGE


def translate(message: str) -> str:
    """In the viewer's language; as written outside a request (the catalogue tool, tests
    of the pages' helpers)."""
    if not message or not has_app_context():  # gettext("") is the catalogue's header
        return message
    catalogue = _catalogues.get(g.get("language", DEFAULT_LANGUAGE))
    return catalogue.gettext(message) if catalogue else message


def marked(message: str) -> str:
    """A word kept in Python (a module-level table) and translated where a template shows
    it (``_(word)``): marked here so that ``make i18n`` lists it."""
    return message


def phrase(message: str, **values: object) -> str:
    """A sentence the Python side shows (a flash), in the viewer's language, with its
    values put in (``%(name)s``); ``make i18n`` finds these calls as it finds ``_()``."""
    translated = translate(message)
    return translated % values if values else translated


def phrases(singular: str, plural: str, count: int, **values: object) -> str:
    """``phrase`` for a sentence that counts: the form the language uses for ``count``
    (``%(count)s`` is put in with the other values)."""
    return translate_plural(singular, plural, count) % {"count": count, **values}


def translate_plural(singular: str, plural: str, count: int) -> str:
    catalogue = _catalogues.get(g.get("language", DEFAULT_LANGUAGE))
    if catalogue is None:
        return singular if count == 1 else plural
    return catalogue.ngettext(singular, plural, count)


def worded(words: str, values: dict[str, Any]) -> str:
    """A sentence of ``routing_core.infra.sentences`` in the viewer's language."""
    return put_in(translate(words), values)


def said(error: DomainError) -> str:
    """What the domain refused, in the viewer's language where its sentence is a known
    one ("name: at most 200 characters"); as written otherwise."""
    english = shortened(put_in(*error.worded))
    if not error.message.endswith(english):
        return error.message
    words, values = error.worded
    # the kind of record a generic sentence names ("no %(what)s named …"): a noun the
    # catalogue lists (``record_nouns()`` of the word catalogue)
    values = {key: translate(value) if key in ("what", "label") and isinstance(value, str)
              else value for key, value in values.items()}
    return error.message[: len(error.message) - len(english)] + shortened(
        worded(words, values))


def install(app: Quart) -> None:
    """The i18n extension and its callables on the app's templates; catalogues loaded.
    ``word(text)`` translates a word kept in Python (``marked()``, a column's label) as it
    is — ``_()`` would read a ``%`` in it as a placeholder."""
    if not _catalogues:
        _load()
    app.jinja_env.globals["word"] = translate
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True)
