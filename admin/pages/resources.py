"""A small CRUD scaffold shared by the reference-data pages (variables, value tables,
databases, schedules, queues, users, roles).

Each page module describes its form fields and how a submitted form becomes the service's
arguments; the service keeps every rule, and its ``Invalid.field`` comes back next to the
field it names (``weekly.monday.0.end`` is shown on ``weekly.monday``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require
from admin.i18n import phrase, said
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page
from routing_core.infra.errors import DomainError


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"  # text | textarea | number | password | select | checkbox | checks
    required: bool = False
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    rows: int = 3


@dataclass
class Column:
    label: str
    value: Callable[[Any], Any]
    code: bool = False


@dataclass(frozen=True)
class ResourceWords:
    """The sentences of a resource's pages, made from its noun ("campaign"): one catalogue
    entry each (``make i18n`` lists every resource's), so that a language can give each
    noun its own grammar (a French "campagne" is feminine, a "rôle" masculine)."""

    new: str
    edit: str
    create: str
    none_yet: str
    delete: str
    delete_title: str
    delete_confirm: str  # %(name)s
    created: str  # %(name)s
    saved: str  # %(name)s
    deleted: str  # %(name)s

    @classmethod
    def of(cls, singular: str) -> ResourceWords:
        noun = singular.capitalize()
        return cls(
            new=f"New {singular}", edit=f"Edit the {singular}",
            create=f"Create the {singular}", none_yet=f"No {singular} yet",
            delete=f"Delete the {singular}", delete_title=f"Delete this {singular}?",
            delete_confirm=f"Delete the {singular} %(name)s? This cannot be undone.",
            created=f"{noun} %(name)s created.", saved=f"{noun} %(name)s saved.",
            deleted=f"{noun} %(name)s deleted.",
        )


RESOURCES: list[Resource] = []  # every resource's pages, for the catalogue of words


@dataclass
class Resource:
    """One resource's pages: list, new, edit, delete, over the given callbacks."""

    key: str  # the permission's resource, e.g. "variables"
    url: str  # e.g. "/variables"
    title: str  # e.g. "Variables"
    singular: str  # e.g. "variable"
    section: str
    load_all: Callable[[], Awaitable[list[Any]]]
    load: Callable[[str], Awaitable[Any]]
    fields: Callable[[Any | None], Awaitable[list[Field]]]
    values_of: Callable[[Any], dict[str, Any]]
    create: Callable[[Any, dict[str, Any]], Awaitable[Any]]
    update: Callable[[Any, str, dict[str, Any]], Awaitable[Any]]
    delete: Callable[[Any, str], Awaitable[None]]
    columns: list[Column]
    read_form: Callable[[Any, Any | None], dict[str, Any]]
    describe: str = ""
    name_of: Callable[[Any], str] = lambda item: str(item.name)
    extra_links: Callable[[Any], list[tuple[str, str]]] = lambda item: []
    # A page may extend the list (a filter bar above the table): it extends resources/list.
    list_template: str = "resources/list.html"
    blueprint: Blueprint = field(init=False)

    def __post_init__(self) -> None:
        RESOURCES.append(self)
        self.blueprint = Blueprint(self.key, __name__, url_prefix=self.url)
        add_entry(NavEntry(self.key, self.section, self.title, f"pages.{self.key}.index",
                           f"{self.key}:read"))
        self._routes()

    @property
    def words(self) -> ResourceWords:
        return ResourceWords.of(self.singular)

    def permission(self, operation: str) -> str:
        return f"{self.key}:{operation}"

    async def form_page(self, item: Any | None, values: dict[str, Any],
                        errors: dict[str, str], status: int = 200) -> Any:
        return await page(
            "resources/form.html", status, active_nav=self.key, resource=self, item=item,
            fields=await self.fields(item), values=values, errors=errors,
        )

    def errors_of(self, error: DomainError, fields: list[Field]) -> dict[str, str]:
        names = [f.name for f in fields]
        target = error.field or "form"
        while target not in names and "." in target:
            target = target.rsplit(".", 1)[0]
        if target not in names:
            target = "form"
        return {target: said(error)}

    def _routes(self) -> None:
        resource = self
        bp = self.blueprint

        @bp.get("")
        @require(self.permission("read"))
        async def index() -> Any:
            return await page(resource.list_template, active_nav=resource.key,
                              resource=resource, items=await resource.load_all())

        @bp.get("/new")
        @require(self.permission("create"))
        async def new() -> Any:
            return await resource.form_page(None, {}, {})

        @bp.post("/new")
        @require(self.permission("create"))
        async def create() -> Any:
            return await save(None)

        @bp.get("/<item_id>")
        @require(self.permission("edit"))
        async def edit(item_id: str) -> Any:
            item = await resource.load(item_id)
            return await resource.form_page(item, resource.values_of(item), {})

        @bp.post("/<item_id>")
        @require(self.permission("edit"))
        async def update(item_id: str) -> Any:
            return await save(await resource.load(item_id))

        async def save(item: Any | None) -> Any:
            """Create (``item`` None) or update from the posted form; the form again, as
            typed, with the refusal next to its field."""
            form = await request.form
            files = await request.files
            try:
                values = resource.read_form(_Form(form, files), item)
                if item is not None and hasattr(item, "revision"):
                    # the revision the form was built from: a change saved since is refused
                    values["revision"] = form.get("revision")
                if item is None:
                    saved = await resource.create(actor(), values)
                else:
                    saved = await resource.update(actor(), item.id, values)
            except DomainError as error:
                shown = {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k)
                         for k in form}
                errors = resource.errors_of(error, await resource.fields(item))
                return await resource.form_page(item, shown, errors, error.status)
            done = resource.words.created if item is None else resource.words.saved
            await flash(phrase(done, name=resource.name_of(saved)), "success")
            return redirect(url_for(f"pages.{resource.key}.index"))

        @bp.post("/<item_id>/delete")
        @require(self.permission("delete"))
        async def delete(item_id: str) -> Any:
            item = await resource.load(item_id)
            try:
                await resource.delete(actor(), item_id)
            except DomainError as error:
                await flash(said(error), "error")
            else:
                await flash(phrase(resource.words.deleted, name=resource.name_of(item)),
                            "success")
            return redirect(url_for(f"pages.{resource.key}.index"))


class _Form:
    """The submitted form and its files, read the same way by every page."""

    def __init__(self, form: Any, files: Any):
        self.form = form
        self.files = files

    def text(self, name: str) -> str:
        return str(self.form.get(name, "")).strip()

    def raw(self, name: str) -> str:
        return str(self.form.get(name, ""))

    def checked(self, name: str) -> bool:
        return name in self.form

    def all(self, name: str) -> list[str]:
        return [value for value in self.form.getlist(name) if value]

    def file_text(self, name: str) -> str:
        upload = self.files.get(name)
        if upload is None or not upload.filename:
            return ""
        return str(upload.read().decode("utf-8-sig", errors="replace"))
