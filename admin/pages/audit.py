"""Operations > Audit log: who did what and when — versions produced, scheduled, rolled
back, trees edited, users and roles changed, messages resent, conversations repaired —
filtered by user, kind, target and dates, newest first."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from quart import Blueprint, request

from admin.context import require, services, viewer_zone
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import local_day, page
from routing_core.model.audit import AuditEntry
from routing_core.store.audit import AuditFilter

blueprint = Blueprint("audit", __name__, url_prefix="/audit")
READ = "audit:read"
add_entry(NavEntry("audit", "Operations", "Audit log", "pages.audit.index", READ,
                   rank=50))
PAGE_SIZE = 50
# where an entry's target opens, by its type
TARGET_PAGES = {
    "version": ("pages.versions.show", "version_id"),
    "smart_routing": ("pages.routings.detail", "routing_id"),
    "interaction": ("pages.interactions.show", "interaction_id"),
}


def details_text(entry: AuditEntry) -> str:
    shown = {key: value for key, value in entry.details.items() if value not in (None, "", [], {})}
    text = json.dumps(shown, ensure_ascii=False, default=str) if shown else ""
    return text if len(text) <= 240 else text[:239] + "…"


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    errors: dict[str, str] = {}
    zone = viewer_zone()
    first = local_day(args.get("from", ""), "from", errors)
    last = local_day(args.get("to", ""), "to", errors)
    filters = AuditFilter(
        actor_id=args.get("user"), kind=args.get("kind"), target=args.get("target", "").strip(),
        since=datetime.combine(first, time(), zone) if first else None,
        before=datetime.combine(last + timedelta(days=1), time(), zone) if last else None,
    )
    items, cursor = await store.audit.list(filters.query(), cursor=request.args.get("cursor"),
                                           limit=PAGE_SIZE, newest_first=True)
    actions = sorted(await store.audit.collection.distinct("action"))
    families = sorted({action.split(".")[0] for action in actions})
    users = sorted(await store.users.all(), key=lambda user: user.email)
    return await page(
        "audit/list.html", active_nav="audit", items=items, next_cursor=cursor, args=args,
        errors=errors, actions=actions, families=families, users=users,
        details_text=details_text, target_pages=TARGET_PAGES,
    )
