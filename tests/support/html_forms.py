"""What a browser would post for a form as a page shows it: every named input with its
value, a checkbox or radio only when checked, a select's chosen option, a textarea's text.
Tests then change one field and post the rest as the page had it."""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _FormReader(HTMLParser):
    def __init__(self, action: str | None):
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.values: MultiDict[str, str] = MultiDict()
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = self.action is None or found.get("action") == self.action
            return
        if not self.inside:
            return
        name = found.get("name")
        if tag == "input" and name and "disabled" not in found:
            kind = found.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in found:
                    self.values.add(name, found.get("value") or "on")
            elif kind not in ("submit", "button", "file", "reset"):
                self.values.add(name, found.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select is not None:
            value = found.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in found and not self._select_chosen:
                self.values.add(self._select, value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            if not self._select_chosen and self._select_first is not None:
                self.values.add(self._select, self._select_first)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.values.add(self._textarea, "".join(self._text).removeprefix("\n"))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_values(html: str, action: str | None = None) -> MultiDict[str, str]:
    """The values of the form whose ``action`` is given (else of every form on the page)."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.values
