"""Action forms generated from each type's ``Params`` model, and read back from the POST.

``form_fields`` walks ``Params.model_json_schema()``: strings, numbers, booleans, enums as
selects, objects as groups, lists of objects as repeatable rows, string mappings as
key/value rows; anything else falls back to a JSON text area. ``read_params`` walks the same
schema over the submitted form, so the two always agree on names. Inputs are named by their
path (``p.cases.0.conditions.1.left``), the very path pydantic reports in ``Invalid.field``
(``params.cases.0.conditions.1.left``), which is how errors land next to their input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from werkzeug.datastructures import MultiDict

from admin.i18n import translate
from routing_core.actions import action_type, known_types
from routing_core.infra.errors import Invalid, Words

PREFIX = "p"
NEW_ROW = "__new__"
OPTION_LABELS = {
    "lt": "Less than", "le": "Less than or equal to", "gt": "Greater than",
    "ge": "Greater than or equal to", "in_list": "In the list (comma-separated)",
    "matches": "Matches the regular expression", "is_email": "Is an e-mail address",
    "is_phone": "Is a phone number", "before": "Before (date)", "after": "After (date)",
}
# Template texts that usually hold sentences rather than one value get a text area.
MULTILINE_KEYS = frozenset(
    {"text", "body", "description", "retry_text", "waiting_message", "message", "fields_json"}
)


@dataclass
class FormField:
    """One input, group or list of rows, ready for the ``form_field`` macro."""

    name: str
    key: str
    label: str
    kind: str  # text, textarea, number, checkbox, select, group, rows, mapping, lines, json
    required: bool = False
    nullable: bool = False
    value: Any = None
    options: list[str] = field(default_factory=list)
    help: str = ""
    error: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: str = "1"
    children: list[FormField] = field(default_factory=list)
    rows: list[list[FormField]] = field(default_factory=list)
    blank_row: list[FormField] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # option -> shown as (else derived)
    add_label: str = ""  # the button that adds a row, in the viewer's language

    def option_label(self, option: str) -> str:
        """A record's name as it is; an option of the type's own, in the viewer's language."""
        if option in self.labels:
            return self.labels[option]
        return translate(_english_option_label(option))

    def walk(self) -> list[FormField]:
        """This field and every field inside it (rows and the blank row excluded)."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        for row in self.rows:
            for child in row:
                found.extend(child.walk())
        return found


# -- the schema ----------------------------------------------------------------------------


class _Schema:
    """A JSON schema with its ``$defs``, so references resolve wherever they appear."""

    def __init__(self, model: type[BaseModel]):
        self.root = model.model_json_schema()
        self.defs: dict[str, Any] = self.root.get("$defs", {})

    def resolve(self, node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The concrete schema of ``node`` and whether null is also accepted."""
        nullable = False
        if "anyOf" in node:
            options = [option for option in node["anyOf"] if option.get("type") != "null"]
            nullable = len(options) < len(node["anyOf"])
            if len(options) == 1:
                merged = {**node, **options[0]}
                merged.pop("anyOf")
                node = merged
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**self.defs.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
        return node, nullable


def _kind(key: str, node: dict[str, Any]) -> str:
    kind = node.get("type")
    if "enum" in node:
        return "select"
    if kind == "string":
        long_text = node.get("maxLength", 0) >= 20_000 and key in MULTILINE_KEYS
        return "textarea" if long_text or node.get("format") == "multiline" else "text"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        items = node.get("items", {})
        if "$ref" in items or items.get("type") == "object":
            return "rows"
        if items.get("type") in ("string", "integer", "number"):
            return "lines"
    if kind == "object":
        if node.get("properties"):
            return "group"
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type") == "string" and "properties" not in node:
            return "mapping"
    return "json"


def _label(key: str, node: dict[str, Any]) -> str:
    title = node.get("title") or key.replace("_", " ")
    return title[:1].upper() + title[1:].lower()


def _english_option_label(option: str) -> str:
    return OPTION_LABELS.get(option) or option.replace("_", " ").capitalize()


def _english_add_label(kind: str, label: str) -> str:
    """The button that adds a row: "+ Add a condition", "+ Add an entry"."""
    if kind == "mapping":
        return "+ Add an entry"
    item = label.lower()
    item = item[:-1] if item.endswith("s") and not item.endswith("ss") else item
    article = "an" if item[:1] in "aeiou" else "a"
    return f"+ Add {article} {item}"


def english_words() -> list[str]:
    """Every label, help, option and button of every action type's form, as written —
    the forms are made from the types' models in ``routing_core``, which knows no
    language, and shown here in the viewer's (``make i18n`` lists these)."""
    words: dict[str, None] = dict.fromkeys(OPTION_LABELS.values())
    words.update(dict.fromkeys(("Name", "Value", "+ Add an entry")))

    def collect(made: FormField) -> None:
        words.update(dict.fromkeys(w for w in (made.label, made.help, made.add_label) if w))
        words.update(dict.fromkeys(made.option_label(o) for o in made.options
                                   if o not in made.labels))
        for child in [*made.children, *made.blank_row]:
            collect(child)

    for key in known_types():
        for made in form_fields(action_type(key).Params, None)[0]:
            collect(made)
    return list(words)


# -- building the form --------------------------------------------------------------------


def form_fields(
    model: type[BaseModel], values: dict[str, Any] | None, errors: dict[str, str] | None = None
) -> tuple[list[FormField], str | None]:
    """The fields of ``model`` filled with ``values``, and the error no input can hold."""
    schema = _Schema(model)
    fields = _object_fields(schema, schema.root, PREFIX, values or {}, use_defaults=values is None)
    return fields, _attach_errors(fields, errors or {})


def _object_fields(
    schema: _Schema, node: dict[str, Any], prefix: str, values: Any, use_defaults: bool
) -> list[FormField]:
    values = values if isinstance(values, dict) else {}
    required = set(node.get("required", []))
    return [
        _field(
            schema, key=key, raw=child, name=f"{prefix}.{key}", values=values,
            required=key in required, use_defaults=use_defaults,
        )
        for key, child in node.get("properties", {}).items()
    ]


def _field(
    schema: _Schema,
    *,
    key: str,
    raw: dict[str, Any],
    name: str,
    values: dict[str, Any],
    required: bool,
    use_defaults: bool,
) -> FormField:
    node, nullable = schema.resolve(raw)
    kind = _kind(key, node)
    if key in values:
        value = values[key]
    elif use_defaults:
        value = node.get("default")
    else:
        value = None
    label = _label(key, node)
    made = FormField(
        name=name,
        key=key,
        label=translate(label),
        kind=kind,
        required=required,
        nullable=nullable,
        help=translate(node.get("description", "").replace("``", "")),
        add_label=translate(_english_add_label(kind, label)) if kind in ("rows", "mapping") else "",
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
        step="any" if node.get("type") == "number" else "1",
    )
    if kind == "select":
        made.options = [str(option) for option in node["enum"]]
        made.value = "" if value is None else str(value)
    elif kind == "checkbox":
        made.value = bool(value)
    elif kind == "group":
        made.children = _object_fields(schema, node, name, value, use_defaults)
    elif kind == "rows":
        item, _ = schema.resolve(node["items"])
        made.rows = [
            _object_fields(schema, item, f"{name}.{index}", row, use_defaults=False)
            for index, row in enumerate(value or [])
        ]
        made.blank_row = _object_fields(schema, item, f"{name}.{NEW_ROW}", {}, use_defaults=True)
    elif kind == "mapping":
        made.rows = [
            _pair(name, index, pair_key, pair_value)
            for index, (pair_key, pair_value) in enumerate((value or {}).items())
        ]
        made.blank_row = _pair(name, NEW_ROW, "", "")
    elif kind == "lines":
        made.value = "\n".join(str(line) for line in value or [])
    elif kind == "json":
        made.value = "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
    else:
        made.value = "" if value is None else value
    return made


def _pair(name: str, index: int | str, key: str, value: Any) -> list[FormField]:
    return [
        FormField(name=f"{name}.{index}.key", key="key", label=translate("Name"), kind="text",
                  value=key),
        FormField(
            name=f"{name}.{index}.value", key="value", label=translate("Value"), kind="text",
            value="" if value is None else value,
        ),
    ]


def _attach_errors(fields: list[FormField], errors: dict[str, str]) -> str | None:
    """Put each error on the deepest input whose name its path starts with."""
    by_name = {found.name: found for top in fields for found in top.walk()}
    leftover: list[str] = []
    for path, message in errors.items():
        name = PREFIX + path[len("params"):] if path.startswith("params") else path
        target = None
        while name:
            if name in by_name:
                target = by_name[name]
                break
            name = name.rpartition(".")[0]
        if target is None:
            leftover.append(message)
        else:
            target.error = message.removeprefix(f"{path}: ")
    return " ".join(leftover) or None


# -- reading the form back ----------------------------------------------------------------


def read_params(model: type[BaseModel], form: MultiDict[str, str]) -> dict[str, Any]:
    """The submitted parameters as a dict for the type's model to validate."""
    schema = _Schema(model)
    return _read_object(schema, schema.root, PREFIX, form)


def _read_object(
    schema: _Schema, node: dict[str, Any], prefix: str, form: MultiDict[str, str]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, raw in node.get("properties", {}).items():
        present, value = _read_field(schema, key, raw, f"{prefix}.{key}", form)
        if present:
            result[key] = value
    return result


def _read_field(
    schema: _Schema,
    key: str,
    raw: dict[str, Any],
    name: str,
    form: MultiDict[str, str],
) -> tuple[bool, Any]:
    """(whether to send the key, its value): an empty optional input keeps the default."""
    node, nullable = schema.resolve(raw)
    kind = _kind(key, node)
    if kind == "checkbox":
        return True, name in form
    if kind == "group":
        value = _read_object(schema, node, name, form)
        if nullable and not any(_filled(item) for item in value.values()):
            return True, None
        return True, value
    if kind == "rows":
        item, _ = schema.resolve(node["items"])
        return True, [_read_object(schema, item, f"{name}.{index}", form) for index in
                      _row_indexes(name, form)]
    if kind == "mapping":
        pairs = ((form.get(f"{name}.{i}.key", "").strip(), form.get(f"{name}.{i}.value", ""))
                 for i in _row_indexes(name, form))
        return True, {pair_key: value for pair_key, value in pairs if pair_key or value}
    text = form.get(name, "")
    if kind == "lines":
        return True, [line.strip() for line in text.splitlines() if line.strip()]
    if not text or (not text.strip() and (nullable or kind not in ("text", "textarea"))):
        # Left empty: null when allowed, else the default (or "Field required" when none);
        # spaces typed in a text are kept as typed (a template may test them).
        return (True, None) if nullable else (False, None)
    if kind == "number":
        return True, _number(text)
    if kind == "json":
        try:
            return True, json.loads(text)
        except json.JSONDecodeError as error:
            raise Invalid(
                Words(
                    "not valid JSON: %(msg)s (line %(lineno)s)",
                    msg=error.msg, lineno=error.lineno),
                field="params" + name[len(PREFIX):],
            ) from None
    return True, text


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


_INDEX = re.compile(r"^(\d+)\.")


def _row_indexes(name: str, form: MultiDict[str, str]) -> list[int]:
    """The row numbers present in the form, in order (rows may have been removed)."""
    start = len(name) + 1
    found = {
        int(match.group(1))
        for key in form
        if key.startswith(name + ".") and (match := _INDEX.match(key[start:]))
    }
    return sorted(found)


def _number(text: str) -> Any:
    """An int or float, or the text itself so the model reports what is wrong with it."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
