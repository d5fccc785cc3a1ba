"""Small helpers the page modules share: rendering, dates, form validation, redirects."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from quart import redirect, render_template, request

from admin.context import viewer_zone, viewer_zone_name
from admin.i18n import worded
from admin.pages.security import safe_next
from routing_core.infra import sentences


def when(moment: datetime | None, with_zone: bool = True) -> str:
    """A date-time as people read it, in the viewer's time zone."""
    if moment is None:
        return ""
    local = moment.astimezone(viewer_zone())
    text = f"{local.day} {local:%B %Y at %H:%M}"
    return f"{text} ({viewer_zone_name()})" if with_zone else text


def local_day(text: str, name: str, errors: dict[str, str]) -> date | None:
    """A day typed in a date field; a bad one is said next to its field."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "a date, as 2026-12-04"
        return None


def time_of(moment: datetime) -> str:
    """The local time of day, to the second: events of one conversation are close."""
    return f"{moment.astimezone(viewer_zone()):%H:%M:%S}"


async def page(template: str, status: int = 200, **context: Any) -> Any:
    if isinstance(context.get("errors"), dict):
        context["errors"] = {name: beside(name, message)
                             for name, message in context["errors"].items()}
    return await render_template(f"admin/{template}", **context), status


ABOUT = re.compile(r"^([\w.]+): (.+)$", re.S)


def beside(name: str, message: str) -> str:
    """An error shown next to its field does not name the field again ("name: required"
    beside Name reads "required"); one about a part of it keeps that part's name."""
    said = ABOUT.match(message)
    if said is None or name == "form":
        return message
    about, rest = said.groups()
    if about == name:
        return rest
    if about.startswith(name + "."):
        return f"{about[len(name) + 1:].replace('_', ' ')}: {rest}"
    return message


def back_to(default: str, form: Any = None) -> Any:
    """Redirect to the page the form asked for (``next``), else ``default``."""
    target = (form or {}).get("next") or request.args.get("next")
    return redirect(safe_next(target, default))


def validated(model: type[BaseModel], data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The model built from a form, or the readable error of each field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "form"
            errors.setdefault(field, worded(*sentences.worded(problem)))
        return None, errors


def form_text(form: Any, *names: str) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in names}
