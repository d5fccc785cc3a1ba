"""Every rule and every refusal of DESIGN §6 through the JSON API, with its status and code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart import Quart

from routing_core.services import Services
from tests.conftest import ADMIN_EMAIL, Api, login
from tests.integration.builders import (
    SAY,
    add_action,
    new_routing,
    new_version,
    ok,
    promote,
    ready_version,
    refused,
    statuses,
)

# -- smart routings ----------------------------------------------------------------------


async def test_create_routing_and_refuse_a_taken_reference(api: Api) -> None:
    routing = await new_routing(api, "sales", type="end")
    assert (routing["reference"], routing["type"], routing["description"]) == ("sales", "end", "")
    again = await api.post(
        "/api/smart-routings", json={"name": "Other", "reference": "sales", "type": "start"}
    )
    refused(again, 409, "reference_taken", "reference")
    listing = ok(await api.get("/api/smart-routings"))
    assert [item["id"] for item in listing["items"]] == [routing["id"]]
    assert listing["next"] is None


async def test_patch_routing_changes_name_but_refuses_type_and_taken_reference(api: Api) -> None:
    routing = await new_routing(api, "sales")
    await new_routing(api, "support")
    path = f"/api/smart-routings/{routing['id']}"
    assert ok(await api.patch(path, json={"name": "Sales desk"}))["name"] == "Sales desk"
    refused(await api.patch(path, json={"type": "end"}), 422, "invalid", "type")
    refused(await api.patch(path, json={"reference": "support"}), 409, "reference_taken")
    assert ok(await api.get(path))["type"] == "start"


async def test_delete_routing_removes_its_versions(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    ok(await api.delete(f"/api/smart-routings/{routing['id']}"), 204)
    refused(await api.get(f"/api/smart-routings/{routing['id']}"), 404, "not_found")
    refused(await api.get(f"/api/versions/{version['id']}"), 404, "not_found")


async def test_delete_routing_used_by_an_entry_point_is_refused(
    api: Api, services: Services
) -> None:
    routing = await new_routing(api)
    await services.store.database["entry_points"].insert_one(
        {"_id": "ep1", "start_routing": routing["id"]}
    )
    refused(await api.delete(f"/api/smart-routings/{routing['id']}"), 409, "in_use")
    ok(await api.get(f"/api/smart-routings/{routing['id']}"))


async def test_copy_routing_copies_every_version_as_development(api: Api) -> None:
    routing = await new_routing(api, "main")
    first = await ready_version(api, routing["id"], "first")
    second = await ready_version(api, routing["id"], "second")
    third = await ready_version(api, routing["id"], "third")
    await promote(api, first["id"])
    await promote(api, second["id"])  # first is now backup
    ok(await api.post(f"/api/versions/{third['id']}/test"))

    copy = ok(
        await api.post(
            f"/api/smart-routings/{routing['id']}/copy", json={"name": "Copy", "reference": "copy"}
        ),
        201,
    )
    assert copy["id"] != routing["id"] and copy["reference"] == "copy"
    listing = ok(await api.get(f"/api/smart-routings/{copy['id']}/versions"))["items"]
    assert sorted(item["name"] for item in listing) == ["first", "second", "third"]
    assert {(item["status"], item["in_test"]) for item in listing} == {("development", False)}
    originals = {v["name"]: v for v in (first, second, third)}
    for item in listing:
        copied = ok(await api.get(f"/api/versions/{item['id']}"))
        assert copied["id"] != originals[item["name"]]["id"]
        assert copied["tree"] == originals[item["name"]]["tree"]
    taken = await api.post(
        f"/api/smart-routings/{routing['id']}/copy", json={"name": "Again", "reference": "main"}
    )
    refused(taken, 409, "reference_taken")


# -- versions ----------------------------------------------------------------------------


async def test_new_version_from_zero_has_only_start(api: Api) -> None:
    routing = await new_routing(api)
    version = await new_version(api, routing["id"], "blank", description="first try")
    assert (version["status"], version["in_test"], version["scheduled_at"]) == (
        "development",
        False,
        None,
    )
    assert version["description"] == "first try"
    tree = version["tree"]
    assert [action["type"] for action in tree["actions"]] == ["start"]
    assert tree["actions"][0]["id"] == tree["start"]
    assert tree["actions"][0]["next"] == {"next": None}


async def test_new_version_copies_another_versions_tree(api: Api) -> None:
    routing = await new_routing(api)
    other = await new_routing(api, "other")
    source = await ready_version(api, routing["id"])
    await promote(api, source["id"])
    copy = await new_version(api, other["id"], "copied", copy_from=source["id"])
    assert copy["tree"] == source["tree"] and copy["status"] == "development"
    missing = await api.post(
        f"/api/smart-routings/{routing['id']}/versions", json={"name": "x", "copy_from": "nope"}
    )
    refused(missing, 422, "invalid", "copy_from")
    no_routing = await api.post("/api/smart-routings/nope/versions", json={"name": "x"})
    refused(no_routing, 404, "not_found")


EditRequest = Callable[[dict[str, Any]], tuple[str, str, Any]]
EditCheck = Callable[[dict[str, Any], dict[str, Any]], None]  # (before, after)


def _actions(version: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {action["id"]: action for action in version["tree"]["actions"]}


def _renamed(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["name"] == "renamed" and after["tree"] == before["tree"]


def _added(before: dict[str, Any], after: dict[str, Any]) -> None:
    [new] = set(_actions(after)) - set(_actions(before))
    start = _actions(after)[after["tree"]["start"]]
    message = before["tree"]["actions"][1]["id"]
    assert start["next"] == {"next": new}  # the node sits between Start and the message
    assert _actions(after)[new]["type"] == "node"
    assert _actions(after)[new]["next"] == {"next": message}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> None:
    changed = after["tree"]["actions"][1]
    assert changed["name"] == "Greeting" and changed["record_passage"] is True
    assert changed["params"] == before["tree"]["actions"][1]["params"]


def _unlinked(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before["tree"]["actions"][0]["next"]["next"] == before["tree"]["actions"][1]["id"]
    start = _actions(after)[after["tree"]["start"]]
    assert start["next"] == {"next": None}


def _deleted(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert set(_actions(after)) == {after["tree"]["start"]}
    assert _actions(after)[after["tree"]["start"]]["next"] == {"next": None}


EDITS: dict[str, tuple[EditRequest, EditCheck]] = {
    "rename": (lambda v: ("PATCH", f"/api/versions/{v['id']}", {"name": "renamed"}), _renamed),
    "add action": (lambda v: (
        "POST",
        f"/api/versions/{v['id']}/actions",
        {"type": "node", "after": {"action": v["tree"]["start"]}},
    ), _added),
    "change action": (lambda v: (
        "PATCH",
        f"/api/versions/{v['id']}/actions/{v['tree']['actions'][1]['id']}",
        {"name": "Greeting", "record_passage": True},
    ), _changed),
    "link": (lambda v: (
        "PUT",
        f"/api/versions/{v['id']}/links",
        {"from": v["tree"]["start"], "branch": "next", "to": None},
    ), _unlinked),
    "delete action": (lambda v: (
        "DELETE",
        f"/api/versions/{v['id']}/actions/{v['tree']['actions'][1]['id']}",
        None,
    ), _deleted),
}


@pytest.mark.parametrize("edit", EDITS)
async def test_a_development_version_can_be_edited(api: Api, edit: str) -> None:
    """Each edit does what it says to the stored tree, in a new revision."""
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    request, check = EDITS[edit]
    method, path, body = request(version)
    response = await api.call(method, path, json=body)
    assert response.status_code in (200, 201, 204), response.json_body
    after = ok(await api.get(f"/api/versions/{version['id']}"))
    assert after["revision"] == version["revision"] + 1
    check(version, after)


async def production_and_backup(api: Api) -> tuple[Any, Any]:
    """A routing whose first version is the backup of its second, in production."""
    routing = await new_routing(api)
    backup = await ready_version(api, routing["id"], "backup")
    production = await ready_version(api, routing["id"], "production")
    await promote(api, backup["id"])
    await promote(api, production["id"])
    return tuple([ok(await api.get(f"/api/versions/{v['id']}")) for v in (production, backup)])


async def test_production_and_backup_are_read_only(api: Api, subtests: Any) -> None:
    for version in await production_and_backup(api):
        for edit, (request, _) in EDITS.items():
            with subtests.test(edit=edit, version=version["name"]):
                method, path, body = request(version)
                refused(await api.call(method, path, json=body), 409, "not_in_development")
        after = ok(await api.get(f"/api/versions/{version['id']}"))
        assert after == version


async def test_tree_edits_through_the_api(api: Api) -> None:
    routing = await new_routing(api)
    version = await new_version(api, routing["id"])
    vid, start = version["id"], version["tree"]["start"]
    last = await add_action(api, vid, start)
    first = await add_action(api, vid, start, type="checkpoint", params={"label": "in"})
    assert first["next"] == {"next": last["id"]}  # added after Start, before what was there
    between = await add_action(
        api, vid, first["id"], type="node", params={}, before=last["id"], record_passage=True
    )
    assert between["record_passage"] is True and between["next"] == {"next": last["id"]}
    wrong_before = await api.post(
        f"/api/versions/{vid}/actions",
        json={"type": "node", "after": {"action": start}, "before": last["id"]},
    )
    refused(wrong_before, 422, "invalid", "before")
    copied = await add_action(api, vid, last["id"], copy={"action": first["id"]})
    assert copied["type"] == "checkpoint" and copied["id"] != first["id"]
    bad_branch = {"type": "node", "after": {"action": start, "branch": "yes"}}
    refused(await api.post(f"/api/versions/{vid}/actions", json=bad_branch), 422, "invalid")
    bad_type = {"type": "teleport", "after": {"action": start}}
    refused(await api.post(f"/api/versions/{vid}/actions", json=bad_type), 422, "invalid", "type")
    bad_params = {"type": "pause", "params": {"seconds": 0}, "after": {"action": start}}
    refused(await api.post(f"/api/versions/{vid}/actions", json=bad_params), 422)
    to_start = {"from": last["id"], "branch": "next", "to": start}
    refused(await api.put(f"/api/versions/{vid}/links", json=to_start), 422, "invalid", "to")
    refused(await api.delete(f"/api/versions/{vid}/actions/{start}"), 422, "invalid")
    refused(await api.get(f"/api/versions/{vid}/actions/nope"), 404)

    ok(await api.delete(f"/api/versions/{vid}/actions/{between['id']}"), 204)
    tree = ok(await api.get(f"/api/versions/{vid}"))["tree"]
    by_id = {action["id"]: action for action in tree["actions"]}
    assert by_id[first["id"]]["next"] == {"next": last["id"]}  # re-pointed past the deleted one
    assert by_id[last["id"]]["next"] == {"next": copied["id"]}


# -- production --------------------------------------------------------------------------


async def test_production_from_development_then_rollback_from_backup(api: Api) -> None:
    routing = await new_routing(api)
    first = await ready_version(api, routing["id"], "first")
    second = await ready_version(api, routing["id"], "second")
    ok(await api.post(f"/api/versions/{second['id']}/test"))

    result = await promote(api, first["id"])
    assert result["version"]["id"] == first["id"] and result["previous"] is None
    assert result["version"]["status"] == "production" and result["version"]["production_at"]

    result = await promote(api, second["id"])
    assert (result["version"]["id"], result["previous"]["id"]) == (second["id"], first["id"])
    assert result["previous"]["status"] == "backup"
    assert result["version"]["in_test"] is False  # a production version is not "in test"
    assert await statuses(api, routing["id"]) == {"first": "backup", "second": "production"}

    result = await promote(api, first["id"])  # rollback
    assert (result["version"]["id"], result["previous"]["id"]) == (first["id"], second["id"])
    assert await statuses(api, routing["id"]) == {"first": "production", "second": "backup"}
    detail = ok(await api.get(f"/api/smart-routings/{routing['id']}"))["versions"]
    assert detail["production"]["id"] == first["id"]
    assert [backup["id"] for backup in detail["backups"]] == [second["id"]]
    assert detail["development"] == [] and detail["in_test"] is None


async def test_production_of_the_production_version_is_refused(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    await promote(api, version["id"])
    refused(await api.post(f"/api/versions/{version['id']}/production"), 409, "in_production")


async def test_production_of_a_blank_tree_is_refused(api: Api) -> None:
    routing = await new_routing(api)
    blank = await new_version(api, routing["id"])
    refused(await api.post(f"/api/versions/{blank['id']}/production"), 409, "blank_tree")
    assert await statuses(api, routing["id"]) == {"v1": "development"}


async def test_production_of_an_invalid_tree_is_refused(api: Api, services: Services) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    await services.store.versions.collection.update_one(
        {"_id": version["id"]}, {"$set": {"tree.actions.1.next.next": "ghost"}}
    )
    error = refused(await api.post(f"/api/versions/{version['id']}/production"), 409)
    assert error["code"] == "invalid_tree" and "ghost" in error["message"]


async def test_validation_reports_errors_and_warnings(api: Api, services: Services) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    vid, start = version["id"], version["tree"]["start"]
    clean = ok(await api.get(f"/api/versions/{vid}/validation"))
    assert clean == {"errors": [], "warnings": []}
    ok(
        await api.put(
            f"/api/versions/{vid}/links", json={"from": start, "branch": "next", "to": None}
        )
    )
    report = ok(await api.get(f"/api/versions/{vid}/validation"))
    # Start leads nowhere: production would be refused, and the report says so
    assert [error["code"] for error in report["errors"]] == ["blank_tree"]
    assert [warning["code"] for warning in report["warnings"]] == ["unreachable"]
    await services.store.versions.collection.update_one(
        {"_id": vid}, {"$set": {"tree.actions.1.params": {"text": ""}}}
    )
    report = ok(await api.get(f"/api/versions/{vid}/validation"))
    assert [error["code"] for error in report["errors"]] == ["blank_tree", "bad_action"]


async def test_validation_says_what_a_customer_would_suffer(api: Api, services: Services) -> None:
    """An empty version, a question whose answer leads nowhere, and records named that do
    not exist: the first and the last block production (with the same sentence the
    report shows), the second is a warning; never "no problem" where production is
    refused."""
    routing = await new_routing(api)
    version = await new_version(api, routing["id"])
    vid, start = version["id"], version["tree"]["start"]
    blank = ok(await api.get(f"/api/versions/{vid}/validation"))
    assert [error["message"] for error in blank["errors"]] == [
        "cannot go to production: add an action after Start"]
    refused(await api.post(f"/api/versions/{vid}/production"), 409, "blank_tree")

    ask = await add_action(api, vid, start, type="message_wait",
                           params={"text": "Your name?", "into": "name"})

    async def add_on(parent: str, branch: str, type: str, params: Any) -> Any:
        return ok(await api.post(f"/api/versions/{vid}/actions", json={
            "type": type, "params": params, "after": {"action": parent, "branch": branch}}),
            201)

    queue_it = await add_on(ask["id"], "timeout", "to_queue", {"queue": "Sales"})
    await add_on(queue_it["id"], "no_agent", "to_smart_routing", {"routing": "after-sales"})
    report = ok(await api.get(f"/api/versions/{vid}/validation"))
    assert [warning["code"] for warning in report["warnings"]] == ["dead_end_after_question"]
    assert "after the customer answers" in report["warnings"][0]["message"]
    assert report["warnings"][0]["branch"] == "answered"
    assert sorted(error["message"].split(": ", 1)[1] for error in report["errors"]) == [
        "there is no queue 'Sales'", "there is no smart routing with the reference 'after-sales'"]
    production = await api.post(f"/api/versions/{vid}/production")
    refused(production, 409, "invalid_tree")
    assert "there is no" in production.json_body["error"]["message"]

    created = await api.post("/api/queues", {"name": "Sales", "members": []})
    assert created.status_code == 201, created.json_body
    await new_routing(api, reference="after-sales")
    report = ok(await api.get(f"/api/versions/{vid}/validation"))
    assert report["errors"] == []
    ok(await api.post(f"/api/versions/{vid}/production"))


# -- test mode ---------------------------------------------------------------------------


async def test_at_most_one_development_version_in_test(api: Api) -> None:
    routing = await new_routing(api)
    first = await ready_version(api, routing["id"], "first")
    second = await ready_version(api, routing["id"], "second")
    assert ok(await api.post(f"/api/versions/{first['id']}/test"))["in_test"] is True
    assert ok(await api.post(f"/api/versions/{first['id']}/test"))["in_test"] is True  # idempotent
    refused(await api.post(f"/api/versions/{second['id']}/test"), 409, "other_in_test")
    assert ok(await api.delete(f"/api/versions/{first['id']}/test"))["in_test"] is False
    assert ok(await api.post(f"/api/versions/{second['id']}/test"))["in_test"] is True
    detail = ok(await api.get(f"/api/smart-routings/{routing['id']}"))
    assert detail["versions"]["in_test"]["id"] == second["id"]


async def test_other_routings_have_their_own_version_in_test(api: Api) -> None:
    for reference in ("one", "two"):
        version = await ready_version(api, (await new_routing(api, reference))["id"])
        ok(await api.post(f"/api/versions/{version['id']}/test"))


async def test_test_mode_is_for_development_only(api: Api) -> None:
    for version in await production_and_backup(api):
        for method in ("POST", "DELETE"):
            response = await api.call(method, f"/api/versions/{version['id']}/test")
            refused(response, 409, "not_in_development")


# -- schedules ---------------------------------------------------------------------------


def days_ahead(days: int, hour: int = 10) -> str:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()


async def schedule(api: Api, version_id: str, at: str) -> Any:
    return await api.put(f"/api/versions/{version_id}/schedule", json={"at": at})


async def test_schedule_and_cancel(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    at = days_ahead(2)
    scheduled = ok(await schedule(api, version["id"], at))
    assert datetime.fromisoformat(scheduled["scheduled_at"]) == datetime.fromisoformat(at)
    assert scheduled["status"] == "development"
    detail = ok(await api.get(f"/api/smart-routings/{routing['id']}"))["versions"]
    assert [item["id"] for item in detail["scheduled"]] == [version["id"]]
    assert ok(await api.delete(f"/api/versions/{version['id']}/schedule"))["scheduled_at"] is None
    assert ok(await api.get(f"/api/versions/{version['id']}"))["scheduled_at"] is None


async def test_schedule_must_be_strictly_in_the_future(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    now = datetime.now(UTC)
    for at in [
        (now - timedelta(minutes=1)).isoformat(),
        now.isoformat(),
        "2999-01-01T10:00:00",  # no offset: ambiguous
        "tomorrow",
    ]:
        refused(await schedule(api, version["id"], at), 422, "invalid", "at")
    assert ok(await api.get(f"/api/versions/{version['id']}"))["scheduled_at"] is None


async def test_two_schedules_on_one_date_are_refused(api: Api) -> None:
    routing = await new_routing(api)
    first = await ready_version(api, routing["id"], "first")
    second = await ready_version(api, routing["id"], "second")
    ok(await schedule(api, first["id"], days_ahead(1, hour=9)))
    refused(await schedule(api, second["id"], days_ahead(1, hour=15)), 409, "date_taken", "at")
    ok(await schedule(api, second["id"], days_ahead(2)))  # another date is fine
    ok(await api.delete(f"/api/versions/{first['id']}/schedule"))
    ok(await schedule(api, second["id"], days_ahead(1, hour=15)))  # moved onto the freed date
    other = await ready_version(api, (await new_routing(api, "other"))["id"])
    ok(await schedule(api, other["id"], days_ahead(1, hour=15)))  # other routings are separate


async def test_only_development_can_be_scheduled(api: Api) -> None:
    for version in await production_and_backup(api):
        refused(await schedule(api, version["id"], days_ahead(1)), 409, "not_in_development")


async def test_a_blank_version_cannot_be_scheduled(api: Api) -> None:
    routing = await new_routing(api)
    blank = await new_version(api, routing["id"])
    refused(await schedule(api, blank["id"], days_ahead(1)), 409, "blank_tree")


async def test_production_clears_the_schedule_of_the_version(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    ok(await schedule(api, version["id"], days_ahead(1)))
    assert (await promote(api, version["id"]))["version"]["scheduled_at"] is None
    other = await ready_version(api, routing["id"], "v2")
    ok(await schedule(api, other["id"], days_ahead(1)))  # the date is free again


# -- delete and duplicate ----------------------------------------------------------------


async def test_delete_development_and_backup_but_not_production(api: Api) -> None:
    routing = await new_routing(api)
    backup = await ready_version(api, routing["id"], "backup")
    production = await ready_version(api, routing["id"], "production")
    development = await new_version(api, routing["id"], "development")
    await promote(api, backup["id"])
    await promote(api, production["id"])
    refused(await api.delete(f"/api/versions/{production['id']}"), 409, "in_production")
    ok(await api.delete(f"/api/versions/{development['id']}"), 204)
    ok(await api.delete(f"/api/versions/{backup['id']}"), 204)
    assert await statuses(api, routing["id"]) == {"production": "production"}
    refused(await api.delete(f"/api/versions/{backup['id']}"), 404)


async def test_deleting_a_scheduled_version_cancels_its_schedule(api: Api) -> None:
    routing = await new_routing(api)
    scheduled = await ready_version(api, routing["id"], "scheduled")
    other = await ready_version(api, routing["id"], "other")
    at = days_ahead(1)
    ok(await schedule(api, scheduled["id"], at))
    ok(await api.delete(f"/api/versions/{scheduled['id']}"), 204)
    ok(await schedule(api, other["id"], at))  # the date is free
    audit = ok(await api.get(f"/api/audit?target={scheduled['id']}&action=version.delete"))
    assert audit["items"][0]["details"]["cancelled_schedule"] is not None


@pytest.mark.parametrize("status", ["development", "production", "backup"])
async def test_duplicate_any_status_into_development(api: Api, status: str) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    if status != "development":
        await promote(api, version["id"])
    if status == "backup":
        await promote(api, (await ready_version(api, routing["id"], "v2"))["id"])
    path = f"/api/versions/{version['id']}/duplicate"
    named = ok(await api.post(path, json={"name": "v1 fix"}), 201)
    unnamed = ok(await api.post(path, json={}), 201)
    for duplicate in (named, unnamed):
        assert duplicate["status"] == "development" and duplicate["id"] != version["id"]
        assert duplicate["tree"] == version["tree"]
        assert duplicate["routing_id"] == routing["id"]
    assert (named["name"], unnamed["name"]) == ("v1 fix", "v1 (copy)")
    assert ok(await api.get(f"/api/versions/{version['id']}"))["status"] == status


# -- export and import -------------------------------------------------------------------


async def test_export_then_import_remaps_ids_and_keeps_statuses(api: Api) -> None:
    routing = await new_routing(api, "main")
    first = await ready_version(api, routing["id"], "first")
    second = await ready_version(api, routing["id"], "second")
    third = await ready_version(api, routing["id"], "third")
    await promote(api, first["id"])
    await promote(api, second["id"])
    ok(await api.post(f"/api/versions/{third['id']}/test"))
    exported = ok(await api.get(f"/api/smart-routings/{routing['id']}/export"))
    assert exported["routing"]["reference"] == "main" and len(exported["versions"]) == 3

    refused(await api.post("/api/smart-routings/import", json=exported), 409, "reference_taken")
    imported = ok(
        await api.post("/api/smart-routings/import", json=exported | {"reference": "main-2"}),
        201,
    )
    assert imported["id"] != routing["id"] and imported["reference"] == "main-2"
    items = ok(await api.get(f"/api/smart-routings/{imported['id']}/versions"))["items"]
    assert {item["name"]: item["status"] for item in items} == {
        "first": "backup",
        "second": "production",
        "third": "development",
    }
    assert not any(item["in_test"] for item in items)
    originals = {v["name"]: v for v in (first, second, third)}
    for item in items:
        assert item["id"] != originals[item["name"]]["id"]
        tree = ok(await api.get(f"/api/versions/{item['id']}"))["tree"]
        assert tree == originals[item["name"]]["tree"]
    ok(await api.delete(f"/api/smart-routings/{routing['id']}"), 204)
    ok(await api.post("/api/smart-routings/import", json=exported), 201)  # reference free again


def export_of(**changes: Any) -> dict[str, Any]:
    tree = {
        "start": "s",
        "actions": [
            {"id": "s", "type": "start", "next": {"next": "m"}},
            {"id": "m", "type": "message", "params": SAY, "next": {"next": None}},
        ],
    }
    data: dict[str, Any] = {
        "format": "smart-routing/1",
        "routing": {"name": "Imported", "reference": "imported", "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": tree}],
    }
    return data | changes


BAD_TREE = {"start": "s", "actions": [{"id": "s", "type": "start", "next": {"next": "ghost"}}]}
BAD_FILES = {
    "unknown format": export_of(format="other/9"),
    "routing without type": export_of(routing={"name": "x", "reference": "x"}),
    "unknown routing type": export_of(routing={"name": "x", "reference": "x", "type": "middle"}),
    "version without tree": export_of(versions=[{"name": "v1"}]),
    "unknown status": export_of(versions=[{"name": "v1", "status": "live", "tree": BAD_TREE}]),
    "invalid production": export_of(
        versions=[{"name": "v1", "status": "production", "tree": BAD_TREE}]
    ),
    "two productions": export_of(versions=export_of()["versions"] * 2),
    "not an export": {"hello": "world"},
}


async def test_a_good_export_file_imports(api: Api) -> None:
    routing = ok(await api.post("/api/smart-routings/import", json=export_of()), 201)
    assert await statuses(api, routing["id"]) == {"v1": "production"}


async def test_a_bad_export_file_is_refused(api: Api, subtests: Any) -> None:
    for case, data in BAD_FILES.items():
        with subtests.test(case=case):
            refused(await api.post("/api/smart-routings/import", json=data), 422)
    assert ok(await api.get("/api/smart-routings"))["items"] == []


# -- audit -------------------------------------------------------------------------------


async def test_every_change_is_audited_with_its_user(api: Api) -> None:
    routing = await new_routing(api)
    rid = routing["id"]
    ok(await api.patch(f"/api/smart-routings/{rid}", json={"description": "d"}))
    version = await ready_version(api, rid)  # version.create, tree.add
    vid, message = version["id"], version["tree"]["actions"][1]["id"]
    ok(await api.patch(f"/api/versions/{vid}", json={"name": "v1b"}))
    ok(await api.patch(f"/api/versions/{vid}/actions/{message}", json={"name": "hi"}))
    node = await add_action(api, vid, message, type="node", params={})
    ok(
        await api.put(
            f"/api/versions/{vid}/links", json={"from": node["id"], "branch": "next", "to": None}
        )
    )
    ok(await api.delete(f"/api/versions/{vid}/actions/{node['id']}"), 204)
    ok(await api.post(f"/api/versions/{vid}/test"))
    ok(await api.delete(f"/api/versions/{vid}/test"))
    ok(await schedule(api, vid, days_ahead(1)))
    ok(await api.delete(f"/api/versions/{vid}/schedule"))
    await promote(api, vid)
    duplicate = ok(await api.post(f"/api/versions/{vid}/duplicate", json={}), 201)
    ok(await api.delete(f"/api/versions/{duplicate['id']}"), 204)
    copy = ok(
        await api.post(f"/api/smart-routings/{rid}/copy", json={"name": "c", "reference": "c"}), 201
    )
    exported = ok(await api.get(f"/api/smart-routings/{rid}/export"))
    ok(await api.post("/api/smart-routings/import", json=exported | {"reference": "i"}), 201)
    ok(await api.delete(f"/api/smart-routings/{copy['id']}"), 204)

    me = ok(await api.get("/api/auth/me"))["user"]
    entries = ok(await api.get("/api/audit?limit=500"))["items"]
    assert {(entry["actor"], entry["actor_id"]) for entry in entries} == {(ADMIN_EMAIL, me["id"])}
    assert all(entry["at"] for entry in entries)
    assert sorted({entry["action"] for entry in entries}) == sorted(
        {
            "routing.create",
            "routing.update",
            "routing.copy",
            "routing.import",
            "routing.delete",
            "version.create",
            "version.update",
            "version.delete",
            "version.test",
            "version.untest",
            "version.schedule",
            "version.unschedule",
            "version.production",
            "tree.add",
            "tree.update",
            "tree.link",
            "tree.delete",
        }
    )
    production = next(entry for entry in entries if entry["action"] == "version.production")
    assert production["target_id"] == vid


# -- permissions and the HTTP conventions ------------------------------------------------

MUTATIONS: list[tuple[str, str, str, Any]] = [
    ("create", "POST", "/api/smart-routings", {"name": "n", "reference": "r", "type": "start"}),
    ("edit", "PATCH", "/api/smart-routings/{rid}", {"name": "n"}),
    ("delete", "DELETE", "/api/smart-routings/{rid}", None),
    ("create", "POST", "/api/smart-routings/{rid}/copy", {"name": "n", "reference": "r"}),
    ("create", "POST", "/api/smart-routings/import", "export"),
    ("create", "POST", "/api/smart-routings/{rid}/versions", {"name": "n"}),
    ("edit", "PATCH", "/api/versions/{vid}", {"name": "n"}),
    ("delete", "DELETE", "/api/versions/{vid}", None),
    ("edit", "POST", "/api/versions/{vid}/production", None),
    ("edit", "POST", "/api/versions/{vid}/test", None),
    ("edit", "DELETE", "/api/versions/{vid}/test", None),
    ("edit", "PUT", "/api/versions/{vid}/schedule", {"at": "2999-01-01T10:00:00+00:00"}),
    ("edit", "DELETE", "/api/versions/{vid}/schedule", None),
    ("create", "POST", "/api/versions/{vid}/duplicate", {}),
    ("edit", "POST", "/api/versions/{vid}/actions", {"type": "node", "after": {"action": "{s}"}}),
    ("edit", "PATCH", "/api/versions/{vid}/actions/{aid}", {"name": "n"}),
    ("edit", "DELETE", "/api/versions/{vid}/actions/{aid}", None),
    ("edit", "PUT", "/api/versions/{vid}/links", {"from": "{s}", "branch": "next", "to": None}),
]


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


async def user_with(api: Api, app: Quart, name: str, permissions: list[str]) -> Api:
    ok(await api.post("/api/roles", json={"name": name, "permissions": permissions}), 201)
    email = f"{name}@example.com"
    body = {"email": email, "password": "long enough to pass", "roles": [name]}
    ok(await api.post("/api/users", json=body), 201)
    return await login(app, email, "long enough to pass")


async def test_each_mutation_needs_its_permission(api: Api, app: Quart) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    exported = ok(await api.get(f"/api/smart-routings/{routing['id']}/export"))
    ids = {
        "rid": routing["id"],
        "vid": version["id"],
        "s": version["tree"]["start"],
        "aid": version["tree"]["actions"][1]["id"],
    }
    everything = [f"smart_routings:{op}" for op in ("read", "create", "edit", "delete")]
    lacking = {
        operation: await user_with(
            api, app, f"no-{operation}", [p for p in everything if not p.endswith(operation)]
        )
        for operation in ("create", "edit", "delete")
    }
    reader = await user_with(api, app, "reader", ["smart_routings:read"])
    for operation, method, path, body in MUTATIONS:
        payload = exported | {"reference": "r"} if body == "export" else fill(body, ids)
        for client in (lacking[operation], reader):
            response = await client.call(method, fill(path, ids), json=payload)
            refused(response, 403, "forbidden")
    assert ok(await reader.get(f"/api/versions/{version['id']}")) == ok(
        await api.get(f"/api/versions/{version['id']}")
    )  # nothing changed, and reading is allowed
    nobody = await user_with(api, app, "nobody", ["queues:read"])
    for path in (
        "/api/smart-routings",
        f"/api/smart-routings/{routing['id']}",
        f"/api/smart-routings/{routing['id']}/versions",
        f"/api/smart-routings/{routing['id']}/export",
        f"/api/versions/{version['id']}",
        f"/api/versions/{version['id']}/validation",
    ):
        refused(await nobody.get(path), 403, "forbidden")


async def test_without_a_valid_token_every_route_is_401(api: Api, anonymous: Api) -> None:
    routing = await new_routing(api)
    forged = Api(anonymous.client, "forged-token")
    for client in (anonymous, forged):
        refused(await client.get("/api/smart-routings"), 401, "unauthenticated")
        refused(await client.get(f"/api/smart-routings/{routing['id']}"), 401)
        refused(await client.post("/api/smart-routings", json={}), 401)
    ok(await api.post("/api/auth/logout"), 204)
    refused(await api.get("/api/smart-routings"), 401)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"name": "x", ', 400, "malformed"),
        (b"", 400, "malformed"),
        (b"[1, 2]", 422, "invalid"),
        (b'{"name": "x", "reference": "r", "type": "start", "colour": "red"}', 422, "invalid"),
        (b'{"name": "x", "reference": "r", "type": "middle"}', 422, "invalid"),
        (b'{"name": "x", "reference": "no spaces", "type": "start"}', 422, "invalid"),
        (
            b'{"name": "x", "reference": "r", "type": "start", "d": "' + b"x" * 1_100_000 + b'"}',
            413,
            "too_large",
        ),
    ],
)
async def test_bad_bodies(api: Api, body: bytes, status: int, code: str) -> None:
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    response = await api.client.post("/api/smart-routings", data=body, headers=headers)
    response.json_body = await response.get_json()
    refused(response, status, code)
    assert ok(await api.get("/api/smart-routings"))["items"] == []


async def test_unknown_field_is_named(api: Api) -> None:
    routing = await new_routing(api)
    response = await api.patch(f"/api/smart-routings/{routing['id']}", json={"colour": "red"})
    refused(response, 422, "invalid", "colour")


async def test_null_cannot_erase_a_required_value(api: Api) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    action = f"/api/versions/{version['id']}/actions/{version['tree']['actions'][1]['id']}"
    for path, field in [
        (f"/api/smart-routings/{routing['id']}", "name"),
        (f"/api/smart-routings/{routing['id']}", "reference"),
        (f"/api/smart-routings/{routing['id']}", "description"),
        (action, "name"),
        (action, "params"),
        (action, "record_passage"),
    ]:
        refused(await api.patch(path, json={field: None}), 422, "invalid", field)
    assert ok(await api.get(f"/api/smart-routings/{routing['id']}"))["name"] == routing["name"]
    assert ok(await api.get(f"/api/versions/{version['id']}")) == version


async def test_unknown_ids_are_404(api: Api) -> None:
    for method, path in [
        ("GET", "/api/smart-routings/nope"),
        ("GET", "/api/versions/nope"),
        ("POST", "/api/versions/nope/production"),
        ("DELETE", "/api/versions/nope"),
        ("GET", "/api/versions/nope/validation"),
    ]:
        refused(await api.call(method, path), 404, "not_found")
