"""The tree editor's forms: add (after, between, or as a copy), change, delete an action,
and create, change or delete one link. Every rule stays in ``TreeEditor``; a refusal comes
back inline, next to the input it names."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages.forms import read_params
from admin.pages.versions import Panel, render_version
from routing_core.actions import action_type
from routing_core.infra.errors import DomainError, Invalid

blueprint = Blueprint("editor", __name__, url_prefix="/versions")
EDIT = "smart_routings:edit"


def _show(version_id: str, **args: Any) -> Any:
    return redirect(url_for("pages.versions.show", version_id=version_id, **args))


async def _refused(version_id: str, panel: Panel, error: DomainError) -> Any:
    """A bad value comes back inline in the same form; any other refusal as a message."""
    if isinstance(error, Invalid):
        panel.errors = {error.field or "form": said(error)}
        return await render_version(version_id, panel, error.status)
    await flash(said(error), "error")
    return _show(version_id, **({"action": panel.action_id} if panel.action_id else {}))


@blueprint.post("/<version_id>/actions")
@require(EDIT)
async def add(version_id: str) -> Any:
    form = await request.form
    panel = Panel(
        kind="add", after=form.get("after"), branch=form.get("branch") or None,
        before=form.get("before") or None, mode=form.get("mode", "new"),
        type=form.get("type") or None, copy_version=form.get("copy_version") or None,
        name=form.get("name", "").strip(), record_passage="record_passage" in form,
    )
    try:
        if panel.mode == "copy":
            action = await services().trees.add(
                actor(), version_id, after=panel.after or "", branch=panel.branch,
                before=panel.before, copy_version=panel.copy_version,
                copy_action=form.get("copy_action") or "", following=form.get("following"),
            )
        else:
            model = action_type(panel.type or "").Params
            panel.params = read_params(model, form)
            action = await services().trees.add(
                actor(), version_id, after=panel.after or "", branch=panel.branch,
                before=panel.before, type=panel.type, name=panel.name,
                params=panel.params, record_passage=panel.record_passage,
                following=form.get("following"),
            )
    except DomainError as error:
        return await _refused(version_id, panel, error)
    await flash(phrase("Action added."), "success")
    return _show(version_id, action=action.id)


@blueprint.post("/<version_id>/actions/<action_id>")
@require(EDIT)
async def update(version_id: str, action_id: str) -> Any:
    form = await request.form
    version = await services().store.versions.get(version_id)
    current = version.tree.find(action_id)
    panel = Panel(
        kind="action", action_id=action_id, name=form.get("name", "").strip(),
        record_passage="record_passage" in form,
    )
    changes: dict[str, Any] = {"name": panel.name, "record_passage": panel.record_passage}
    try:
        if current is not None and not action_type(current.type).fixed:
            panel.params = read_params(action_type(current.type).Params, form)
            changes["params"] = panel.params
        await services().trees.update(actor(), version_id, action_id, changes)
    except DomainError as error:
        return await _refused(version_id, panel, error)
    await flash(phrase("Action saved."), "success")
    return _show(version_id, action=action_id)


@blueprint.post("/<version_id>/actions/<action_id>/delete")
@require(EDIT)
async def delete(version_id: str, action_id: str) -> Any:
    try:
        await services().trees.delete(actor(), version_id, action_id)
    except DomainError as error:
        await flash(said(error), "error")
        return _show(version_id, action=action_id)
    await flash(phrase("Action deleted; the links that led to it now follow its successor."),
                "success")
    return _show(version_id)


@blueprint.post("/<version_id>/actions/<action_id>/move")
@require(EDIT)
async def move(version_id: str, action_id: str) -> Any:
    """The action and what follows it, after another action (``after`` is
    ``<action>:<branch>``)."""
    after, _, branch = (await request.form).get("after", "").partition(":")
    if not after or not branch:
        await flash(phrase("Choose where to move the action."), "error")
        return _show(version_id, action=action_id)
    try:
        await services().trees.move(actor(), version_id, action_id, after, branch)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("Action moved with what follows it."), "success")
    return _show(version_id, action=action_id)


@blueprint.post("/<version_id>/links")
@require(EDIT)
async def link(version_id: str) -> Any:
    form = await request.form
    origin, branch = form.get("from", ""), form.get("branch", "")
    target = None if "unlink" in form else (form.get("to") or None)
    try:
        await services().trees.link(actor(), version_id, origin, branch, target)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(
            phrase("Branch %(branch)s now ends the tree.", branch=branch) if target is None
            else phrase("Branch %(branch)s linked.", branch=branch), "success"
        )
    return _show(version_id, action=origin)
