"""The admin pages: server-rendered screens over the same domain services as the JSON API.

One parent blueprint under ``/admin`` holds what every page shares (templates, static
files, the CSRF check, the error pages, the template helpers); each area is a child
blueprint in its own module.
"""

from __future__ import annotations

from typing import Any

from quart import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from quart.blueprints import BlueprintSetupState

from admin import i18n
from admin.context import authenticated_user, services, viewer_zone_name
from admin.i18n import said
from admin.pages import (
    audit,
    auth,
    campaign_targets,
    campaigns,
    canaries,
    cases,
    contacts,
    crm,
    crm_objects,
    crm_types,
    database_rows,
    databases,
    editor,
    entry_points,
    interactions,
    outbox,
    queues,
    repairs,
    replays,
    roles,
    routings,
    schedules,
    statistics,
    surveys,
    tasks,
    users,
    value_tables,
    variables,
    versions,
)
from admin.pages.home import home_page
from admin.pages.nav import entries_for
from admin.pages.security import (
    CSRF_FIELD,
    TOKEN_SESSION_KEY,
    CsrfRefused,
    can,
    check_csrf,
    csrf_token,
    safe_next,
)
from admin.pages.views import time_of, when
from routing_core.infra.errors import DomainError, Forbidden, NotFound, Unauthenticated, Words

blueprint = Blueprint(
    "pages",
    __name__,
    url_prefix="/admin",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)
for area in (auth, audit, routings, versions, editor, interactions, contacts, outbox, repairs,
             entry_points, value_tables, variables, databases, database_rows, schedules, queues,
             users, roles, cases, crm, crm_types, crm_objects, tasks, campaigns,
             campaign_targets, surveys, statistics, canaries, replays):
    blueprint.register_blueprint(area.blueprint)


@blueprint.record_once
def _cookie_settings(state: BlueprintSetupState) -> None:
    state.app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    i18n.install(state.app)


@blueprint.before_request
async def _guard() -> None:
    """Every form must carry the session's CSRF token. The cookie is marked Secure when the
    service is published over HTTPS, which only the settings behind the services know."""
    g.language = i18n.viewer_language()
    secure = services().settings.public_url.startswith("https://")
    if current_app.config.get("SESSION_COOKIE_SECURE") is not secure:
        current_app.config["SESSION_COOKIE_SECURE"] = secure
    await check_csrf()


@blueprint.context_processor
async def _helpers() -> dict[str, Any]:
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "can": can,
        "when": when,
        "time_of": time_of,
        "current_user": g.get("user"),
        "navigation": entries_for(g.get("permissions", frozenset())),
        "timezone": viewer_zone_name(),
        "language": g.get("language", i18n.DEFAULT_LANGUAGE),
    }


@blueprint.get("/")
async def home() -> Any:
    return await home_page()


@blueprint.route("/<path:unknown>", methods=["GET", "POST"])
async def unknown_page(unknown: str) -> Any:
    await authenticated_user()
    raise NotFound(Words("There is no page at /admin/%(unknown)s.", unknown=unknown))


async def _error_page(status: int, title: str, message: str) -> Any:
    return await render_template(
        "admin/error.html", status=status, title=title, message=message
    ), status


@blueprint.errorhandler(Unauthenticated)
async def _to_login(error: Unauthenticated) -> Any:
    session.pop(TOKEN_SESSION_KEY, None)
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.auth.login", next=target))


@blueprint.errorhandler(Forbidden)
async def _forbidden(error: Forbidden) -> Any:
    return await _error_page(
        403, "You cannot do this", "Your role does not allow this page or action. "
        "Ask an administrator for the permission if you need it."
    )


@blueprint.errorhandler(NotFound)
async def _not_found(error: NotFound) -> Any:
    return await _error_page(404, "Not found", said(error))


@blueprint.errorhandler(CsrfRefused)
async def _csrf(error: CsrfRefused) -> Any:
    return await _error_page(400, "Form expired", said(error))


@blueprint.errorhandler(DomainError)
async def _refused(error: DomainError) -> Any:
    """A refusal no view handled itself: say it on the page the user came from."""
    if request.method == "POST":
        await flash(said(error), "error")
        back = safe_next(request.referrer and _path_of(request.referrer), "")
        return redirect(back or url_for("pages.routings.index"))
    return await _error_page(error.status, "This cannot be done", said(error))


def _path_of(url: str) -> str | None:
    host = request.host_url.rstrip("/")
    return url[len(host):] if url.startswith(host) else None
