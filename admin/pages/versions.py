"""A version: its page (the tree, its editor panel, the validation report) and the
lifecycle buttons of its card — production, test, schedule, duplicate, delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin import simulator_tickets
from admin.context import (
    actor,
    authenticated_user,
    require,
    services,
    viewer_zone,
    viewer_zone_name,
)
from admin.i18n import marked, phrase, said, translate
from admin.pages import catalogue
from admin.pages.canaries import canary_context
from admin.pages.forms import form_fields
from admin.pages.interactions import event_text
from admin.pages.layout import draw
from admin.pages.routings import test_entry_points, versions_without_trees
from admin.pages.security import can
from admin.pages.views import back_to, form_text, page, validated
from admin.schemas.routings import VersionPatch
from routing_core.actions import action_type
from routing_core.infra.errors import DomainError, Invalid, NotFound
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel
from routing_core.model.routing import Version, VersionStatus
from routing_core.model.tree import Action, Tree
from routing_core.model.users import SIMULATE
from routing_core.routing import tree_edits
from routing_core.routing.impact import impact_of
from routing_core.routing.references import (
    NAMED_RECORDS,
    NamedRecord,
    full_report,
    reference_fields,
)
from routing_core.routing.version_diff import diff_trees
from routing_core.store.statistics import Period

blueprint = Blueprint("versions", __name__, url_prefix="/versions")
EXECUTIONS_SHOWN, EVENTS_SHOWN = 20, 300
READ, CREATE, EDIT, DELETE = (f"smart_routings:{op}" for op in ("read", "create", "edit", "delete"))
# a parameter picked among records: its help when some exist, and when none does yet
RECORD_HELP = {
    "queue": (marked("One of the queues that exist."),
              marked("There is no queue yet: create one first.")),
    "value table": (marked("One of the value tables that exist."),
                    marked("There is no value table yet: create one first.")),
    "database": (marked("One of the databases that exist."),
                 marked("There is no database yet: create one first.")),
    "schedule": (marked("One of the schedules that exist."),
                 marked("There is no schedule yet: create one first.")),
    "smart routing": (marked("One of the smart routings that exist."),
                      marked("There is no smart routing yet: create one first.")),
    "survey": (marked("One of the surveys that exist."),
               marked("There is no survey yet: create one first.")),
    "campaign": (marked("One of the campaigns that exist."),
                 marked("There is no campaign yet: create one first.")),
    "CRM object type": (marked("One of the CRM object types that exist."),
                        marked("There is no CRM object type yet: create one first.")),
}


@dataclass
class Panel:
    """What the side panel of the version page shows, from the URL or a refused form."""

    kind: str = "overview"  # overview | action | add | execution | simulator
    action_id: str | None = None
    execution_id: str | None = None
    after: str | None = None
    branch: str | None = None
    before: str | None = None
    mode: str = "new"  # new | copy
    type: str | None = None
    copy_version: str | None = None
    name: str = ""
    record_passage: bool = False
    params: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> Panel:
        if args.get("add"):
            return cls(
                kind="add", after=args["add"], branch=args.get("branch") or None,
                before=args.get("before") or None,
                mode="copy" if args.get("mode") == "copy" else "new",
                type=args.get("type") or None, copy_version=args.get("copy_version") or None,
            )
        if args.get("simulator"):
            return cls(kind="simulator")
        if args.get("action"):
            return cls(kind="action", action_id=args["action"])
        if args.get("execution"):
            return cls(kind="execution", execution_id=args["execution"])
        return cls()


# -- the version page ------------------------------------------------------------------


@blueprint.get("/<version_id>")
@require(READ)
async def show(version_id: str) -> Any:
    return await render_version(version_id, Panel.from_args(request.args))


def _target_label(action: Action) -> str:
    """How a select names an action: its name, its type, what it does."""
    label = f"{catalogue.action_title(action)} · {catalogue.type_info(action.type).title}"
    summary = catalogue.summary(action) if action.name else ""
    label = f"{label} — {summary}" if summary else label
    return label if len(label) <= 80 else label[:79] + "…"


async def _changes(version: Version, production: Version | None) -> dict[str, Any]:
    """The diff against production (coloured on the tree with ``?diff=1``, or against
    ``?against=<version>``), and, for the production confirmation, the diff and what
    production touches."""
    context: dict[str, Any] = {}
    against = production
    if request.args.get("against"):
        other = await services().store.versions.find(request.args["against"])
        if other is not None and other.routing_id == version.routing_id:
            against = other
    names = {action.id: action.name or action.type
             for tree in (version.tree, against.tree if against else None) if tree
             for action in tree.actions}
    empty = Tree(start="", actions=[])
    diff = diff_trees(against.tree if against else empty, version.tree)
    if request.args.get("diff") == "1" or request.args.get("against"):
        context |= {"diff_view": diff, "diff_against": against, "diff_names": names}
    promotable = version.status in (VersionStatus.development, VersionStatus.backup)
    if promotable and can("edit"):
        production_diff = diff if against is production else diff_trees(
            production.tree if production else empty, version.tree)
        context["change"] = {
            "version_id": version.id, "diff": production_diff, "against": production,
            "names": names, "impact": await impact_of(services().store, version),
        }
    return context


def last_week() -> Period:
    now = services().runtime.clock()
    return Period(since=now - timedelta(days=7), before=now + timedelta(minutes=1),
                  zone=viewer_zone_name())


async def render_version(version_id: str, panel: Panel, status: int = 200) -> Any:
    store = services().store
    version = await store.versions.get(version_id)
    routing = await store.routings.get(version.routing_id)
    production = await store.versions.find_one(
        {"routing_id": routing.id, "status": VersionStatus.production.value}
    )
    editable = version.status is VersionStatus.development and can("edit")
    context: dict[str, Any] = {
        "active_nav": "routings",
        "version": version,
        "routing": routing,
        "production": production,
        "report": catalogue.viewer_report(await full_report(services().store, version.tree),
                                          version.tree),
        "drawing": draw(version.tree),
        "editable": editable,
        "panel": panel,
        "test_entry_points": await test_entry_points(routing.id),
        "by_id": version.tree.by_id(),
        "title_of": catalogue.action_title,
        "type_info": catalogue.type_info,
    }
    if editable:
        context["undo_edit"], context["redo_edit"] = await services().trees.history(version.id)
    context |= await _changes(version, production)
    context |= await canary_context(version)
    if request.args.get("counts") == "1":  # the last week's conversations, on the tree
        context["counts"] = await services().statistics.per_action(version.id, last_week())
    if panel.kind == "action":
        context |= await _action_panel(version, panel)
    elif panel.kind == "add" and editable:
        context |= await _add_panel(version, panel)
    elif panel.kind == "execution":
        context |= await _execution_panel(version, panel)
    elif panel.kind == "simulator":
        context["simulator"] = await _simulator_of(version.id)
    else:
        panel.kind = "overview"
    if panel.kind == "overview":
        context["executions"], _ = await store.interactions.list(
            {"version_id": version.id, "test": True}, limit=EXECUTIONS_SHOWN, newest_first=True
        )
    return await page("versions/show.html", status, **context)


async def _execution_panel(version: Version, panel: Panel) -> dict[str, Any]:
    """One test execution: the path it took (also drawn on the tree) and its events."""
    store = services().store
    execution = await store.interactions.find(panel.execution_id or "")
    if execution is None or execution.version_id != version.id:
        panel.kind = "overview"
        return {"missing_execution": panel.execution_id}
    path = execution.path
    return {
        "execution": execution,
        "events": await store.events.of_interaction(execution.id, limit=EVENTS_SHOWN),
        "path_ids": set(path),
        "path_pairs": set(zip(path, path[1:], strict=False)),
        "event_text": event_text,
    }


# -- the simulator ----------------------------------------------------------------------


async def _simulator_of(version_id: str) -> EntryPoint | None:
    """The hidden web chat entry point of the version's simulator, once it was opened."""
    return await services().store.entry_points.find_one(
        {"channel": Channel.webchat.value, "simulated_version": version_id}
    )


@blueprint.post("/<version_id>/simulator")
@require(SIMULATE)
async def open_simulator(version_id: str) -> Any:
    """Chatting runs the tree (its side effects sandboxed): a permission of its own."""
    await services().entry_points.simulator_for(actor(), version_id)
    return redirect(url_for("pages.versions.show", version_id=version_id, simulator=1))


@blueprint.post("/<version_id>/simulator/close")
@require(SIMULATE)
async def close_simulator(version_id: str) -> Any:
    """The hidden entry point goes (its running conversations end); they stay listed."""
    if await services().simulators.close(actor(), version_id):
        await flash(phrase("The simulator is closed; its conversations stay among the "
                          "executions."))
    return redirect(url_for("pages.versions.show", version_id=version_id))


@blueprint.get("/<version_id>/simulator-ticket")
@require(SIMULATE)
async def simulator_ticket(version_id: str) -> Any:
    """A ticket for the simulator's socket, asked for by the widget before it connects."""
    entry_point = await _simulator_of(version_id)
    if entry_point is None:
        raise NotFound("this version's simulator is not open")
    user, _ = await authenticated_user()
    return {"ticket": simulator_tickets.issue(user, entry_point.id),
            "expires_in": simulator_tickets.TICKET_SECONDS}


@blueprint.get("/<version_id>/simulation")
@require(SIMULATE)
async def simulation(version_id: str) -> Any:
    """The simulator's latest interaction (of the widget's visitor when given): the path it
    took, for the tree, and its events. Polled by admin.js while the panel is open."""
    store = services().store
    version = await store.versions.get(version_id)
    entry_point = await _simulator_of(version_id)
    empty = {"interaction": None, "path": [], "steps": [], "events": [], "status": None}
    if entry_point is None:
        return empty
    query: dict[str, Any] = {"entry_point_id": entry_point.id}
    visitor = request.args.get("visitor", "")
    if visitor:
        query["contact"] = visitor[:64]
    document = await store.interactions.collection.find_one(
        query, projection={"_id": 1}, sort=[("_id", -1)]
    )
    if document is None:
        return empty
    interaction = await store.interactions.get(document["_id"])
    by_id = version.tree.by_id()
    events = await store.events.of_interaction(interaction.id, limit=EVENTS_SHOWN)
    return {
        "interaction": interaction.id,
        "status": interaction.status.value,
        "path": interaction.path,
        "steps": [
            catalogue.action_title(by_id[action_id]) if action_id in by_id else action_id
            for action_id in interaction.path[-100:]
        ],
        "events": [
            {"type": event.type, "at": event.at.isoformat(), "action": event.action,
             "text": event_text(event)}
            for event in events
        ],
    }


async def _params_form(type_key: str, values: dict[str, Any] | None,
                       errors: dict[str, str]) -> Any:
    try:
        model = action_type(type_key).Params
    except Invalid:
        return [], phrase("This action type is not known to this service.")
    fields, form_error = form_fields(model, values, errors)
    named = reference_fields(type_key)
    for shown in fields:
        if shown.key in named and shown.key in NAMED_RECORDS:
            await _chosen_from_the_records(shown, NAMED_RECORDS[shown.key])
        elif type_key == "to_user" and shown.key == "user":
            await _agents_suggested(shown)
    return fields, form_error


async def _agents_suggested(shown: Any) -> None:
    """The agent to offer to: picked among the agents, or a template (the contact's
    adviser, read from the CRM) — so suggested, not imposed."""
    agents = await services().store.users.all({"agent": {"$ne": None}, "active": True})
    shown.options = sorted(agent.email for agent in agents)
    shown.help = phrase("An agent's e-mail (the list suggests them), or a template such as "
                        "{{ contact.adviser }}.")


async def _chosen_from_the_records(shown: Any, record: NamedRecord) -> None:
    """A parameter naming a queue, a table, a routing…: picked from those that exist (one
    named that no longer does stays shown, marked), never typed."""
    key = record.keys[0]
    found = services().store.database[record.repository.collection_name].find(
        {}, projection={key: 1, "name": 1}).sort(key, 1)
    labels = {str(document[key]): (str(document[key]) if key == "name" else
                                    f"{document.get('name')} ({document[key]})")
              async for document in found if document.get(key)}
    exist = bool(labels)
    current = str(shown.value or "")
    if current and current not in labels:
        labels[current] = phrase("%(name)s (does not exist)", name=current)
    shown.kind, shown.options, shown.labels = "select", list(labels), labels
    some, none = RECORD_HELP[record.kind]  # every kind has its sentences (a test keeps it)
    shown.help = translate(some if exist else none)


def move_targets(version: Version, action: Action) -> list[tuple[str, str]]:
    """Where an action can move: a branch that ends the tree, outside its own part."""
    if catalogue.type_info(action.type).fixed:
        return []
    moving = tree_edits.following(version.tree, action.id)
    return [(f"{other.id}:{branch}", f"{_target_label(other)} › {branch}")
            for other in version.tree.actions if other.id not in moving
            for branch, target in other.next.items() if target is None]


async def _action_panel(version: Version, panel: Panel) -> dict[str, Any]:
    action = version.tree.find(panel.action_id or "")
    if action is None:
        panel.kind = "overview"
        return {"missing_action": panel.action_id}
    values = action.params if panel.params is None else panel.params
    fields, form_error = await _params_form(action.type, values, panel.errors)
    entering = [
        (other, branch) for other in version.tree.actions
        for branch, target in other.next.items() if target == action.id
    ]
    return {
        "action": action,
        "info": catalogue.type_info(action.type),
        "fields": fields,
        "form_error": form_error,
        "entering": entering,
        "targets": [
            (other.id, _target_label(other))
            for other in version.tree.actions if other.id != version.tree.start
        ],
        "move_targets": move_targets(version, action),
        "name_value": panel.name if panel.errors else action.name,
        "record_value": panel.record_passage if panel.errors else action.record_passage,
    }


async def _add_panel(version: Version, panel: Panel) -> dict[str, Any]:
    parent = version.tree.find(panel.after or "")
    if parent is None:
        panel.kind = "overview"
        return {"missing_action": panel.after}
    before = version.tree.find(panel.before or "") if panel.before else None
    context: dict[str, Any] = {
        "parent": parent,
        "before_action": before,
        "parent_branches": list(parent.next),
        "type_groups": catalogue.addable_types(),
        "chosen": None,
        "fields": [],
        "form_error": panel.errors.get("form") or panel.errors.get("type"),
        # the new action may lead to any action of the version; by default to what the
        # branch led to (the seed's "Following action")
        "following_targets": [
            (other.id, _target_label(other))
            for other in version.tree.actions if other.id != version.tree.start
        ],
        "following_error": panel.errors.get("following"),
        "following_default": before.id if before else parent.next.get(
            panel.branch or next(iter(parent.next), "")) or "",
    }
    if panel.mode == "new" and panel.type:
        context["chosen"] = catalogue.type_info(panel.type)
        fields, form_error = await _params_form(panel.type, panel.params, panel.errors)
        context["fields"] = fields
        context["form_error"] = context["form_error"] or form_error
    if panel.mode == "copy":
        siblings = await versions_without_trees({"routing_id": version.routing_id})
        context["copy_versions"] = sorted(siblings, key=lambda v: v.id != version.id)
        source_id = panel.copy_version or version.id
        source = version if source_id == version.id else await services().store.versions.find(
            source_id
        )
        context["copy_source"] = source
        context["copyable"] = [
            (action.id, _target_label(action)) for action in (source.tree.actions if source
                                                              else [])
            if not catalogue.type_info(action.type).fixed
        ]
    return context


@blueprint.post("/<version_id>/details")
@require(EDIT)
async def update_details(version_id: str) -> Any:
    values = form_text(await request.form, "name", "description")
    data, errors = validated(VersionPatch, values)
    if data is None:
        field_name, message = next(iter(errors.items()))
        await flash(f"{field_name.capitalize()}: {message}", "error")
    else:
        try:
            await services().lifecycle.update_version(
                actor(), version_id, data.model_dump(exclude_none=True)
            )
        except DomainError as error:
            await flash(said(error), "error")
        else:
            await flash(phrase("Version details saved."), "success")
    return redirect(url_for("pages.versions.show", version_id=version_id))


@blueprint.post("/<version_id>/undo")
@require(EDIT)
async def undo(version_id: str) -> Any:
    return await _undo_or_redo(version_id, "undo")


@blueprint.post("/<version_id>/redo")
@require(EDIT)
async def redo(version_id: str) -> Any:
    return await _undo_or_redo(version_id, "redo")


async def _undo_or_redo(version_id: str, which: str) -> Any:
    trees = services().trees
    try:
        await (trees.undo if which == "undo" else trees.redo)(actor(), version_id)
    except DomainError as error:
        await flash(said(error)[:1].upper() + said(error)[1:] + ".", "error")
    else:
        await flash(phrase("Edit undone.") if which == "undo" else phrase("Edit made again."),
                    "success")
    return redirect(url_for("pages.versions.show", version_id=version_id))


# -- the lifecycle -----------------------------------------------------------------------


async def _routing_page(version_id: str) -> str:
    version = await services().store.versions.get(version_id)
    return url_for("pages.routings.detail", routing_id=version.routing_id)


@blueprint.post("/<version_id>/production")
@require(EDIT)
async def put_in_production(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        version, previous = await services().lifecycle.put_in_production(actor(), version_id)
    except DomainError as error:
        await flash(said(error), "error")
        return back_to(default, form)
    message = phrase("Version %(name)s is in production.", name=version.name)
    if previous is not None:
        message += " " + phrase("Version %(name)s is now in backup.", name=previous.name)
    await flash(message, "success")
    return back_to(default, form)


@blueprint.post("/<version_id>/test")
@require(EDIT)
async def put_in_test(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        version = await services().lifecycle.put_in_test(actor(), version_id)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("Version %(name)s is in test: the test entry points run it.",
                          name=version.name), "success")
    return back_to(default, form)


@blueprint.post("/<version_id>/untest")
@require(EDIT)
async def remove_from_test(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        version = await services().lifecycle.remove_from_test(actor(), version_id)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("Version %(name)s is no longer in test.", name=version.name),
                    "success")
    return back_to(default, form)


def _local_datetime(text: str) -> datetime:
    """The ``datetime-local`` input, read in the service's time zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("give the date and time of the production", field="at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=viewer_zone())
    return moment


@blueprint.post("/<version_id>/schedule")
@require(EDIT)
async def schedule(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        await services().lifecycle.schedule(
            actor(), version_id, _local_datetime(form.get("at", ""))
        )
    except DomainError as error:
        await flash(said(error), "error")
        return back_to(default, form)
    # no flash: the version's card says so itself, as long as the schedule stands
    return back_to(default, form)


@blueprint.post("/<version_id>/unschedule")
@require(EDIT)
async def cancel_schedule(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        version = await services().lifecycle.cancel_schedule(actor(), version_id)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("The planned production of version %(name)s has been removed from "
                          "the schedule.", name=version.name), "success")
    return back_to(default, form)


@blueprint.post("/<version_id>/duplicate")
@require(CREATE)
async def duplicate(version_id: str) -> Any:
    form = await request.form
    default = await _routing_page(version_id)
    try:
        version = await services().lifecycle.duplicate_version(actor(), version_id, None)
    except DomainError as error:
        await flash(said(error), "error")
        return back_to(default, form)
    await flash(phrase("Version %(name)s created in development.", name=version.name),
                "success")
    return redirect(url_for("pages.versions.show", version_id=version.id))


@blueprint.post("/<version_id>/delete")
@require(DELETE)
async def delete(version_id: str) -> Any:
    version = await services().store.versions.get(version_id)
    default = url_for("pages.routings.detail", routing_id=version.routing_id)
    try:
        await services().lifecycle.delete_version(actor(), version_id)
    except DomainError as error:
        await flash(said(error), "error")
        return back_to(default, await request.form)
    await flash(phrase("Version %(name)s deleted.", name=version.name), "success")
    return redirect(default)
