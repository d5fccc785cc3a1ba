"""Operations > Statistics: how a routing performs over a period — conversations per day
(started, ended, handed to an agent, abandoned, failed) as a chart, the count of
conversations on each action and link drawn on the version's tree (as RapidPro draws
them), and per entry point the messages in and out and the reply latency."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from quart import Blueprint, request

from admin.context import require, services, viewer_zone, viewer_zone_name
from admin.pages.charts import grouped_bars
from admin.pages.layout import draw
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import local_day, page
from routing_core.model.routing import Version, VersionStatus
from routing_core.store.statistics import DayFigures, Period

blueprint = Blueprint("statistics", __name__, url_prefix="/statistics")
READ = "smart_routings:read"
add_entry(NavEntry("statistics", "Operations", "Statistics", "pages.statistics.index", READ,
                   rank=40))
SERIES = [("started", "Started"), ("ended", "Ended"), ("with_agent", "Handed to an agent"),
          ("abandoned", "Abandoned"), ("failed", "Failed")]
DEFAULT_DAYS = 7
MAX_DAYS = 366


def _period(args: Any, errors: dict[str, str]) -> tuple[date, date]:
    today = services().runtime.clock().astimezone(viewer_zone()).date()
    first = local_day(args.get("from", ""), "from", errors)
    last = local_day(args.get("to", ""), "to", errors) or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        errors["to"] = "the last day comes after the first"
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days >= MAX_DAYS:
        errors["from"] = f"at most {MAX_DAYS} days at a time"
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


def _default_version(versions: list[Version]) -> Version | None:
    """Production, else the newest version."""
    production = [item for item in versions if item.status is VersionStatus.production]
    return (production or sorted(versions, key=lambda item: item.id, reverse=True) or [None])[0]


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    errors: dict[str, str] = {}
    first, last = _period(request.args, errors)
    routings = sorted(await store.routings.all(), key=lambda routing: routing.name)
    routing = next((item for item in routings if item.id == request.args.get("routing")),
                   routings[0] if routings else None)
    context: dict[str, Any] = {
        "active_nav": "statistics", "routings": routings, "routing": routing,
        "first": first.isoformat(), "last": last.isoformat(), "errors": errors,
    }
    if routing is None:
        return await page("statistics/show.html", **context)
    versions = await store.versions.all({"routing_id": routing.id})
    version = next((item for item in versions if item.id == request.args.get("version")),
                   None) or _default_version(versions)
    only_version = request.args.get("scope") == "version" and version is not None
    zone = viewer_zone()
    period = Period(since=datetime.combine(first, time(), zone),
                    before=datetime.combine(last + timedelta(days=1), time(), zone),
                    zone=viewer_zone_name())
    statistics = services().statistics
    days = await statistics.per_day(routing.id, version.id if only_version else None, period)
    counts = await statistics.per_action(version.id, period) if version else None
    entry_points = {point.id: point for point in await store.entry_points.all()}
    context |= {
        "versions": versions, "version": version, "only_version": only_version,
        "days": _every_day(days, first, last),
        "totals": {key: sum(getattr(day, key) for day in days) for key, _ in SERIES},
        "series": SERIES,
        "entry_point_figures": await statistics.per_entry_point(
            routing.id, version.id if only_version else None, period),
        "entry_points": entry_points,
        "by_version": await statistics.per_version(routing.id, period),
        "version_names": {item.id: item.name for item in versions},
        "counts": counts,
        "drawing": draw(version.tree) if version else None,
        "panel": {"action_id": None, "after": None}, "editable": False,
        "path_ids": set(), "path_pairs": set(),
    }
    context["chart"] = grouped_bars(context["days"], SERIES)
    return await page("statistics/show.html", **context)


def _every_day(found: list[Any], first: date, last: date) -> list[Any]:
    """A row for every day of the period, zeros where nothing started."""
    by_day = {row.day: row for row in found}
    span = (last - first).days + 1
    return [by_day.get(day, DayFigures(day=day)) for day in
            ((first + timedelta(days=offset)).isoformat() for offset in range(span))]
