"""The admin pages through the test client: login, CSRF, permissions, refusals, the editor."""

from __future__ import annotations

import html
import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from werkzeug.datastructures import MultiDict

from admin.pages.forms import form_fields, read_params
from admin.pages.layout import BOX_WIDTH, GOTO_WIDTH, MARK_WIDTH, draw
from routing_core.actions import action_type, known_types
from routing_core.infra.clock import utcnow
from routing_core.model.audit import Actor
from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import Channel, Inbound
from routing_core.model.routing import RoutingType, VersionStatus
from routing_core.model.tree import Tree
from routing_core.model.users import AgentProfile
from routing_core.routing import tree_edits
from routing_core.services import Services
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

ACTOR = Actor(id="test", name="test")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """A browser-like client: session cookie, and the CSRF token of the last page read."""

    def __init__(self, app: Quart):
        self.client = app.test_client()
        self.csrf = ""

    async def get(self, path: str) -> tuple[int, str, Any]:
        response = await self.client.get(path)
        text = await response.get_data(as_text=True)
        if found := CSRF.search(text):
            self.csrf = found.group(1)
        return response.status_code, text, response

    async def post(self, path: str, form: dict[str, Any] | None = None,
                   csrf: bool = True) -> tuple[int, str, Any]:
        data = dict(form or {})
        if csrf:
            data["csrf_token"] = self.csrf
        response = await self.client.post(path, form=data)
        return response.status_code, await response.get_data(as_text=True), response

    async def follow(self, response: Any) -> str:
        return (await self.get(response.headers["Location"]))[1]

    async def log_in(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
        await self.get("/admin/login")
        status, _, response = await self.post(
            "/admin/login", {"email": email, "password": password}
        )
        assert status == 302, response
        await self.get("/admin/smart-routings")


@pytest.fixture
async def admin(app: Quart) -> Pages:
    pages = Pages(app)
    await pages.log_in()
    return pages


async def viewer(app: Quart, services: Services) -> Pages:
    await services.accounts.create_role(ACTOR, "readers", ["smart_routings:read"])
    await services.accounts.create_user(
        ACTOR, email="reader@example.com", password="reader password", roles=["readers"]
    )
    pages = Pages(app)
    await pages.log_in("reader@example.com", "reader password")
    return pages


async def routing_with_version(services: Services, actions: int = 0) -> tuple[Any, Any]:
    routing = await services.lifecycle.create_routing(
        ACTOR, name="Sales", reference="sales", description="", type=RoutingType.start
    )
    version = await services.lifecycle.create_version(ACTOR, routing.id, name="V1")
    after = version.tree.start
    for index in range(actions):
        added = await services.trees.add(
            ACTOR, version.id, after=after, type="message", params={"text": f"Step {index}"}
        )
        after = added.id
    return routing, await services.store.versions.get(version.id)


# -- login, session, CSRF ------------------------------------------------------------------


async def test_pages_send_anonymous_users_to_the_login(app: Quart) -> None:
    response = await app.test_client().get("/admin/smart-routings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/smart-routings")


async def test_login_sets_an_httponly_lax_cookie_and_refuses_open_redirects(app: Quart) -> None:
    pages = Pages(app)
    status, text, _ = await pages.get("/admin/login")
    assert status == 200 and pages.csrf
    status, text, _ = await pages.post("/admin/login", {"email": ADMIN_EMAIL, "password": "no"})
    assert status == 401 and "Wrong e-mail or password." in text
    status, _, response = await pages.post("/admin/login", {
        "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "next": "https://evil.example/admin",
    })
    assert status == 302
    assert response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_login_rotates_the_csrf_token(app: Quart) -> None:
    pages = Pages(app)
    await pages.get("/admin/login")
    before = pages.csrf
    await pages.post("/admin/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    await pages.get("/admin/smart-routings")
    assert pages.csrf and pages.csrf != before


async def test_a_form_without_the_session_csrf_token_is_refused(
    admin: Pages, services: Services
) -> None:
    form = {"name": "Sales", "reference": "sales", "type": "start"}
    status, text, _ = await admin.post("/admin/smart-routings/new", form, csrf=False)
    assert status == 400 and "This form has expired" in text
    status, _, _ = await admin.post(
        "/admin/smart-routings/new", form | {"csrf_token": "forged"}, csrf=False
    )
    assert status == 400
    assert await services.store.routings.all() == []
    status, _, _ = await admin.post("/admin/smart-routings/new", form)
    assert status == 302
    assert [routing.reference for routing in await services.store.routings.all()] == ["sales"]


async def test_the_login_form_needs_its_csrf_token_too(app: Quart) -> None:
    pages = Pages(app)
    await pages.get("/admin/login")
    status, _, _ = await pages.post(
        "/admin/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, csrf=False
    )
    assert status == 400


async def test_logout_revokes_the_token(admin: Pages, services: Services) -> None:
    status, _, response = await admin.post("/admin/logout")
    assert status == 302 and response.headers["Location"] == "/admin/login"
    assert await services.store.tokens.all() == []
    response = await admin.client.get("/admin/smart-routings")
    assert response.status_code == 302


async def test_unknown_admin_pages_are_a_404_page(admin: Pages) -> None:
    status, text, _ = await admin.get("/admin/nowhere")
    assert status == 404 and "There is no page at /admin/nowhere." in text
    status, text, _ = await admin.get("/admin/smart-routings/missing")
    assert status == 404 and "no smart routing with id" in text


# -- permissions -------------------------------------------------------------------------------


async def test_a_reader_sees_no_button_and_gets_a_403_page(
    app: Quart, services: Services
) -> None:
    routing, version = await routing_with_version(services, actions=1)
    pages = await viewer(app, services)
    _, text, _ = await pages.get("/admin/smart-routings")
    assert "Sales" in text and "New smart routing" not in text and ">Delete<" not in text
    _, text, _ = await pages.get(f"/admin/smart-routings/{routing.id}")
    for label in ("Put in production", "Put in test", "Schedule the production", "Duplicate",
                  "Create a version"):
        assert label not in text
    _, text, _ = await pages.get(f"/admin/versions/{version.id}")
    assert "add-end" not in text and 'class="plus"' not in text
    assert "does not allow changing it" in text
    status, text, _ = await pages.get("/admin/smart-routings/new")
    assert status == 403 and "You cannot do this" in text
    for path in (f"/admin/versions/{version.id}/production", f"/admin/versions/{version.id}/test",
                 f"/admin/versions/{version.id}/delete",
                 f"/admin/versions/{version.id}/actions"):
        status, _, _ = await pages.post(path, {"after": version.tree.start, "type": "node"})
        assert status == 403, path
    unchanged = await services.store.versions.get(version.id)
    assert unchanged.status is VersionStatus.development and not unchanged.in_test
    assert len(unchanged.tree.actions) == 2


# -- routings ----------------------------------------------------------------------------------


async def test_routing_form_errors_are_shown_next_to_their_field(
    admin: Pages, services: Services
) -> None:
    await routing_with_version(services)
    status, text, _ = await admin.post(
        "/admin/smart-routings/new", {"name": "", "reference": "bad ref!", "type": "start"}
    )
    assert status == 422
    assert "use letters, digits" in text and "required" in text
    status, text, _ = await admin.post(
        "/admin/smart-routings/new", {"name": "Other", "reference": "sales", "type": "start"}
    )
    assert status == 422 and "already used by another smart routing" in text


async def test_the_type_of_a_routing_cannot_be_changed(admin: Pages, services: Services) -> None:
    routing, _ = await routing_with_version(services)
    status, _, _ = await admin.post(f"/admin/smart-routings/{routing.id}/edit", {
        "name": "Renamed", "reference": "sales", "description": "", "type": "end",
    })
    assert status == 302
    changed = await services.store.routings.get(routing.id)
    assert changed.name == "Renamed" and changed.type is RoutingType.start


async def test_deleting_a_routing_in_use_is_refused_with_a_message(
    admin: Pages, services: Services
) -> None:
    routing, _ = await routing_with_version(services)
    await services.store.database["entry_points"].insert_one(
        {"_id": "ep1", "name": "Shop bot", "channel": "telegram", "start_routing": routing.id}
    )
    status, _, response = await admin.post(f"/admin/smart-routings/{routing.id}/delete")
    assert status == 302
    assert "is used by an entry point" in await admin.follow(response)
    assert await services.store.routings.find(routing.id) is not None


async def test_the_detail_page_guides_and_groups_versions(
    admin: Pages, services: Services
) -> None:
    routing = await services.lifecycle.create_routing(
        ACTOR, name="Empty", reference="empty", description="", type=RoutingType.end
    )
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert ("Create a version of this smart routing to manage your incoming interactions. "
            "You can then place it in production.") in text
    status, _, response = await admin.post(f"/admin/smart-routings/{routing.id}/versions",
                                           {"mode": "zero", "name": "First"})
    assert status == 302 and response.headers["Location"].startswith("/admin/versions/")
    status, text, _ = await admin.post(f"/admin/smart-routings/{routing.id}/versions",
                                       {"mode": "copy", "name": "Second"})
    assert status == 422 and "choose the version to copy" in text

    # three versions in three states: each card in its section, the counts right
    first = await services.store.versions.find_one({"routing_id": routing.id, "name": "First"})
    await services.trees.add(ACTOR, first.id, after=first.tree.start, type="message",
                             params={"text": "Hello"})
    await services.lifecycle.put_in_production(ACTOR, first.id)
    second = await services.lifecycle.duplicate_version(ACTOR, first.id, "Second")
    await services.lifecycle.put_in_production(ACTOR, second.id)
    await services.lifecycle.duplicate_version(ACTOR, second.id, "Third")
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    sections = dict(re.findall(
        r'<section class="version-section" aria-labelledby="(\w+)-heading">(.*?)</section>',
        text, re.S))
    cards = {name: re.findall(r'data-version="([^"]+)"', body)
             for name, body in sections.items()}
    assert cards == {"development": ["Third"], "production": ["Second"], "backup": ["First"]}
    assert '<span class="count">1</span>' in sections["development"]
    assert '<span class="count">1</span>' in sections["backup"]
    assert "Create a version of this smart routing" not in text  # the guide is for the empty one


# -- lifecycle refusals and messages --------------------------------------------------------


async def test_refusals_come_back_as_readable_flashes(admin: Pages, services: Services) -> None:
    routing, blank = await routing_with_version(services)
    status, _, response = await admin.post(
        f"/admin/versions/{blank.id}/production", {"next": f"/admin/smart-routings/{routing.id}"}
    )
    assert status == 302
    text = await admin.follow(response)
    assert "has no action after Start; add one before production" in text
    other = await services.lifecycle.create_version(ACTOR, routing.id, name="V2")
    await admin.post(f"/admin/versions/{blank.id}/test")
    status, _, response = await admin.post(f"/admin/versions/{other.id}/test")
    assert "another version of this smart routing is already in test" in await admin.follow(
        response
    )


async def test_scheduling_shows_one_alert_on_the_card_while_the_schedule_stands(
    admin: Pages, services: Services
) -> None:
    routing, version = await routing_with_version(services, actions=1)
    at = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
    status, _, response = await admin.post(
        f"/admin/versions/{version.id}/schedule", {"at": at.strftime("%Y-%m-%dT%H:%M")}
    )
    assert status == 302
    alert = (f"This version has been put in scheduled production for "
             f"{at.day} {at:%B %Y at %H:%M} (UTC)")
    for text in (await admin.follow(response),
                 (await admin.get(f"/admin/smart-routings/{routing.id}"))[1],
                 (await admin.get(f"/admin/versions/{version.id}"))[1]):
        assert text.count(alert) == 1, "one banner, on the card, as long as it stands"
        assert 'class="flash' not in text
    assert (await services.store.versions.get(version.id)).scheduled_at == at
    await admin.post(f"/admin/versions/{version.id}/unschedule")
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert alert not in text and "removed from the schedule" in text


async def test_times_are_shown_and_typed_in_the_users_own_time_zone(
    admin: Pages, services: Services
) -> None:
    """Users > time zone: a user in Tokyo types 09:30 and reads 09:30 (Asia/Tokyo); the
    stored moment is 00:30 UTC; someone without a zone of their own reads it in UTC."""
    me = await services.store.users.find_one({"email": ADMIN_EMAIL})
    _, form, _ = await admin.get(f"/admin/users/{me.id}")
    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in form
    status, text, _ = await admin.post(f"/admin/users/{me.id}", {
        "email": ADMIN_EMAIL, "roles": "admin", "active": "on", "timezone": "Mars/Olympus"})
    assert status == 422
    assert "unknown time zone 'Mars/Olympus': use a name like Europe/Paris" in html.unescape(text)
    status, _, _ = await admin.post(f"/admin/users/{me.id}", {
        "email": ADMIN_EMAIL, "roles": "admin", "active": "on", "timezone": "Asia/Tokyo"})
    assert status == 302
    assert (await services.store.users.get(me.id)).timezone == "Asia/Tokyo"
    routing, version = await routing_with_version(services, actions=1)
    year = utcnow().year + 1
    await admin.get(f"/admin/smart-routings/{routing.id}")
    await admin.post(f"/admin/versions/{version.id}/schedule", {"at": f"{year}-03-15T09:30"})
    stored = (await services.store.versions.get(version.id)).scheduled_at
    assert stored == datetime(year, 3, 15, 0, 30, tzinfo=UTC)
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert f"for 15 March {year} at 09:30 (Asia/Tokyo)" in text
    await services.accounts.update_user(ACTOR, me.id, {"timezone": None})
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert f"for 15 March {year} at 00:30 (UTC)" in text


async def test_test_entry_points_are_listed_on_the_card(admin: Pages, services: Services) -> None:
    routing, version = await routing_with_version(services, actions=1)
    await services.store.entry_points.insert(EntryPoint(
        name="QA bot", channel=Channel.telegram, address="qa_bot", mode=EntryPointMode.test,
        start_routing=routing.id,
    ))
    await services.lifecycle.put_in_test(ACTOR, version.id)
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert "In testing" in text and "QA bot" in text


async def test_the_version_page_says_what_test_mode_needs(
    admin: Pages, services: Services
) -> None:
    """Test mode runs on external entry points only: the page says so, lists the ones that
    carry the test, offers to create one, and points web chat to the simulator."""
    routing, version = await routing_with_version(services, actions=1)
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    help_block = text[text.index("data-test-mode-help"):]
    help_block = help_block[:help_block.index("</div>")]
    assert "Web chat has no test mode" in help_block and "simulator=1" in help_block
    assert "data-no-test-entry-point" in help_block
    create = re.search(r'href="(/admin/entry-points/new\?[^"]+)"', help_block)
    assert create is not None
    status, form, _ = await admin.get(html.unescape(create.group(1)))
    assert status == 200
    assert re.search(r'<option value="test"[^>]*selected', form), "mode test chosen"
    assert re.search(rf'<option value="{routing.id}"[^>]*selected', form), "routing chosen"
    await services.store.entry_points.insert(EntryPoint(
        name="QA bot", channel=Channel.whatsapp, address="+15550001", mode=EntryPointMode.test,
        start_routing=routing.id))
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    help_block = text[text.index("data-test-mode-help"):]
    assert "QA bot · WhatsApp" in help_block[:help_block.index("</div>")]


# -- the tree editor ------------------------------------------------------------------------


async def test_parameter_errors_are_shown_inline(admin: Pages, services: Services) -> None:
    _, version = await routing_with_version(services)
    form = {
        "mode": "new", "type": "load_sharing", "after": version.tree.start, "name": "Split",
        "p.shares.0.branch": "a", "p.shares.0.percent": "50",
        "p.shares.3.branch": "b", "p.shares.3.percent": "40",
    }
    status, text, _ = await admin.post(f"/admin/versions/{version.id}/actions", form)
    assert status == 422
    assert "the percents add up to 90, not 100" in text
    assert 'value="Split"' in text  # what was typed is kept
    form["p.shares.3.percent"] = "50"
    status, _, _ = await admin.post(f"/admin/versions/{version.id}/actions", form)
    assert status == 302
    saved = await services.store.versions.get(version.id)
    split = next(action for action in saved.tree.actions if action.type == "load_sharing")
    assert split.params["shares"] == [{"branch": "a", "percent": 50},
                                      {"branch": "b", "percent": 50}]
    assert list(split.next) == ["a", "b"]


async def test_an_action_is_changed_and_linked_through_its_forms(
    admin: Pages, services: Services
) -> None:
    _, version = await routing_with_version(services, actions=2)
    first, second = version.tree.actions[1], version.tree.actions[2]
    status, _, _ = await admin.post(
        f"/admin/versions/{version.id}/actions/{second.id}",
        {"name": "Bye", "record_passage": "on", "p.text": "Goodbye"},
    )
    assert status == 302
    status, _, _ = await admin.post(f"/admin/versions/{version.id}/links",
                                    {"from": second.id, "branch": "next", "to": first.id})
    assert status == 302
    saved = (await services.store.versions.get(version.id)).tree.find(second.id)
    assert saved is not None
    assert (saved.name, saved.record_passage, saved.params["text"]) == ("Bye", True, "Goodbye")
    assert saved.next == {"next": first.id}
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    assert "→ goes to Step 0" in text
    status, _, _ = await admin.post(f"/admin/versions/{version.id}/links",
                                    {"from": second.id, "branch": "next", "unlink": "1"})
    saved = (await services.store.versions.get(version.id)).tree.find(second.id)
    assert saved is not None and saved.next == {"next": None}


async def test_a_new_action_may_lead_to_any_action_of_the_version(
    admin: Pages, services: Services, api: Any
) -> None:
    """The seed's "Following action": by default what the branch led to; any other action
    of the version; or none yet. The same through the API (absent, an id, null)."""
    _, version = await routing_with_version(services, actions=2)
    start = version.tree.find(version.tree.start)
    first = start.next["next"]
    second = version.tree.find(first).next["next"]
    _, text, _ = await admin.get(
        f"/admin/versions/{version.id}?add={first}&before={second}&type=message")
    assert "Following action" in text
    assert f'<option value="{second}" selected>' in text  # what followed, by default
    assert f'<option value="{first}">' in text  # any action of the version
    await admin.post(f"/admin/versions/{version.id}/actions", {
        "mode": "new", "type": "message", "after": first, "before": second,
        "p.text": "Looping back", "following": first})
    tree = (await services.store.versions.get(version.id)).tree
    added = tree.find(tree.find(first).next["next"])
    assert added.params["text"] == "Looping back" and added.next == {"next": first}
    status, text, _ = await admin.post(f"/admin/versions/{version.id}/actions", {
        "mode": "new", "type": "message", "after": second, "p.text": "x", "following": "nope"})
    assert status == 422 and "no action" in text and "nope" in html.unescape(text)

    async def add(**extra: Any) -> dict[str, Any]:
        response = await api.post(f"/api/versions/{version.id}/actions", json={
            "type": "message", "params": {"text": "API"}, "after": {"action": second},
            **extra})
        assert response.status_code == 201, response.json_body
        return response.json_body  # type: ignore[no-any-return]

    ended = await add(following=None)
    assert ended["next"] == {"next": None}
    kept = await add()  # between second and what followed it (the one just added)
    assert kept["next"] == {"next": ended["id"]}
    linked = await add(following=first)
    assert linked["next"] == {"next": first}
    refused = await api.post(f"/api/versions/{version.id}/actions", json={
        "type": "message", "params": {"text": "x"}, "after": {"action": second},
        "following": version.tree.start})
    assert refused.status_code == 422 and refused.json_body["error"] == {
        "code": "invalid", "field": "following", "message": "no action can lead back to Start"}


async def test_a_production_version_cannot_be_edited(admin: Pages, services: Services) -> None:
    _, version = await routing_with_version(services, actions=1)
    await services.lifecycle.put_in_production(ACTOR, version.id)
    _, text, _ = await admin.get(f"/admin/versions/{version.id}?add={version.tree.start}")
    assert "Add the action" not in text and "read-only" in text
    status, _, response = await admin.post(f"/admin/versions/{version.id}/actions", {
        "mode": "new", "type": "node", "after": version.tree.start,
    })
    assert status == 302
    assert "only a version in development can be changed" in await admin.follow(response)


async def test_a_200_action_tree_renders_in_under_a_second(
    admin: Pages, services: Services
) -> None:
    _, version = await routing_with_version(services)
    after, questions = version.tree.start, []
    for index in range(200):
        if index % 4 == 1:
            added = await services.trees.add(ACTOR, version.id, after=after, type="message_wait",
                                             params={"text": f"Question {index}?", "into": "x"})
            questions.append(added.id)
        elif index % 4 == 3:
            added = await services.trees.add(ACTOR, version.id, after=questions[-1],
                                             branch="invalid", type="node")
            await services.trees.link(ACTOR, version.id, added.id, "next", questions[-1])
            continue
        else:
            added = await services.trees.add(ACTOR, version.id, after=after, type="message",
                                             params={"text": f"Step {index}"})
        after = added.id
    await admin.get(f"/admin/versions/{version.id}")  # templates compiled once per process
    started = time.perf_counter()
    status, text, _ = await admin.get(f"/admin/versions/{version.id}?action={after}")
    elapsed = time.perf_counter() - started
    assert status == 200
    assert text.count('class="box ') == 201
    assert text.count('class="goto"') == 50
    assert elapsed < 1.0, f"the 200-action page took {elapsed:.2f} s"


async def test_the_history_panel_shows_test_executions_and_their_path(
    admin: Pages, services: Services
) -> None:
    """A real conversation on the version's simulator, its actions recording their
    passage: the History panel lists it, draws its path, and the viewer shows what was said
    and where it passed."""
    routing, version = await routing_with_version(services)
    ask = await services.trees.add(
        ACTOR, version.id, after=version.tree.start, type="message_wait",
        params={"text": "Your name?", "into": "name"}, record_passage=True, name="Ask")
    thanks = await services.trees.add(
        ACTOR, version.id, after=ask.id, type="message",
        params={"text": "Thanks {{ vars.name }}"}, record_passage=True, name="Thank")
    simulator = await services.entry_points.simulator_for(ACTOR, version.id)
    for provider_id, text in (("1", "hello bot"), ("2", "Ada")):
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=simulator.id, contact="visitor-7",
            provider_id=provider_id, text=text), wait=True)
    execution = await services.store.interactions.find_one({"version_id": version.id})
    assert execution is not None and execution.test
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    assert ">History<" in text and "visitor-7" in text
    _, text, _ = await admin.get(f"/admin/versions/{version.id}?execution={execution.id}")
    assert text.count(" on-path") == 5  # three boxes (Start, Ask, Thank), two links
    assert "hello bot" in text
    status, text, _ = await admin.get(f"/admin/interactions/{execution.id}")
    assert status == 200
    assert "Conversation with visitor-7" in text
    for said in ("hello bot", "Your name?", "Ada", "Thanks Ada"):
        assert said in text
    passages = re.findall(r'<li class="event event-passage">.*?</li>', text, re.S)
    assert len(passages) == 2
    assert "Ask" in passages[0] and "Thank" in passages[1]
    assert thanks.id in passages[1]


# -- forms generated from the parameter models ------------------------------------------------


GOLDEN_ACTIONS = Path(__file__).parent.parent / "golden" / "actions"


def posted(fields: list[Any]) -> MultiDict[str, str]:
    """What a browser posts for these fields as shown: every input with its value, a
    checkbox only when ticked."""
    form: MultiDict[str, str] = MultiDict()
    for top in fields:
        for leaf in top.walk():
            if leaf.kind in ("group", "rows", "mapping"):
                continue
            if leaf.kind == "checkbox":
                if leaf.value:
                    form.add(leaf.name, "on")
            elif leaf.value is not None:
                form.add(leaf.name, str(leaf.value))
    return form


@pytest.mark.parametrize("type_key", sorted(known_types()))
def test_every_action_type_gets_a_form_that_posts_its_parameters_back(type_key: str) -> None:
    """An input per parameter (none for a type without any), and each golden case's
    parameters, shown in the form and posted as they are, read back the same."""
    model = action_type(type_key).Params
    fields, error = form_fields(model, None)
    assert error is None
    assert [field.key for field in fields] == [
        info.alias or name for name, info in model.model_fields.items()]
    assert all(field.name.startswith("p.") for field in fields)
    cases = json.loads((GOLDEN_ACTIONS / f"{type_key}.json").read_text())
    for case in cases:
        params = model.model_validate(case["params"])
        shown, error = form_fields(model, params.model_dump(mode="json", by_alias=True))
        assert error is None, case["name"]
        read = model.model_validate(read_params(model, posted(shown)))
        assert read == params, case["name"]


def test_nested_rows_are_read_back_in_order() -> None:
    model = action_type("values_test").Params
    form = MultiDict({
        "p.cases.2.branch": "vip",
        "p.cases.2.conditions.0.left": "{{ contact.tier }}",
        "p.cases.2.conditions.0.operator": "equals",
        "p.cases.2.conditions.0.right": "gold",
        "p.cases.0.branch": "new",
        "p.cases.0.conditions.5.left": "{{ vars.count }}",
        "p.cases.0.conditions.5.operator": "is_empty",
        "p.cases.0.conditions.5.right": "",
    })
    params = read_params(model, form)
    assert params == {"cases": [
        {"branch": "new", "conditions": [
            {"left": "{{ vars.count }}", "operator": "is_empty"}]},
        {"branch": "vip", "conditions": [
            {"left": "{{ contact.tier }}", "operator": "equals", "right": "gold"}]},
    ]}
    model.model_validate(params)
    fields, _ = form_fields(model, params, {"params.cases.1.conditions.0.right": "bad"})
    right = fields[0].rows[1][1].rows[0][2]
    assert (right.name, right.value, right.error) == ("p.cases.1.conditions.0.right", "gold",
                                                      "bad")


def test_mappings_optional_values_and_numbers_are_read_back() -> None:
    model = action_type("web_service").Params
    form = MultiDict({
        "p.method": "POST", "p.url": "https://example.com/hook", "p.timeout_seconds": "12",
        "p.retries": "", "p.body": "",
        "p.headers.0.key": "X-Token", "p.headers.0.value": "abc",
        "p.headers.4.key": "", "p.headers.4.value": "",
    })
    params = read_params(model, form)
    assert params["headers"] == {"X-Token": "abc"}
    assert params["timeout_seconds"] == 12 and "retries" not in params
    assert model.model_validate(params).retries == 0


# -- the tree drawing ---------------------------------------------------------------------


def _random_tree(seed: int, size: int) -> Tree:
    chance = random.Random(seed)
    tree = Tree.blank()
    kinds = [("message", {"text": "hi"}), ("node", {}),
             ("message_wait", {"text": "?", "into": "x"}),
             ("message_choice", {"text": "?", "choices": [
                 {"label": "A", "value": "a", "branch": "a"},
                 {"label": "B", "value": "b", "branch": "b"}]})]
    for _ in range(size):
        parent = chance.choice(tree.actions)
        if not parent.next:
            continue
        type_key, params = chance.choice(kinds)
        action = tree_edits.new_action(type_key, "", params, False)
        branch = chance.choice(list(parent.next))
        tree = tree_edits.insert_action(tree, action, parent.id, branch, None)
    for _ in range(size // 10):  # some loops and junctions
        origin = chance.choice(tree.actions[1:])
        if origin.next:
            target = chance.choice(tree.actions[1:])
            tree = tree_edits.set_link(tree, origin.id, chance.choice(list(origin.next)), target.id)
    return tree


@pytest.mark.parametrize("seed", range(8))
def test_drawn_items_never_overlap(seed: int) -> None:
    tree = _random_tree(seed, 120)
    drawing = draw(tree)
    assert len(drawing.boxes) == len(tree.actions)
    items = [(box.y, box.x, box.x + BOX_WIDTH) for box in drawing.boxes] + [
        (mark.y, mark.x, mark.x + (GOTO_WIDTH if mark.kind == "goto" else MARK_WIDTH))
        for mark in drawing.marks
    ]
    rows: dict[float, list[tuple[float, float]]] = {}
    for top, left, right in items:
        assert left >= 0 and right <= drawing.width
        rows.setdefault(top, []).append((left, right))
    for spans in rows.values():
        spans.sort()
        for (_, right), (left, _) in zip(spans, spans[1:], strict=False):
            assert right <= left, f"overlap in seed {seed}"


def test_unreachable_actions_are_drawn_apart() -> None:
    tree = Tree.blank()
    first = tree_edits.new_action("message", "Reached", {"text": "hi"}, False)
    tree = tree_edits.insert_action(tree, first, tree.start, None, None)
    orphan = tree_edits.new_action("message", "Orphan", {"text": "lost"}, False)
    tree.actions.append(orphan)
    drawing = draw(tree)
    detached = [box for box in drawing.boxes if box.detached]
    assert [box.id for box in detached] == [orphan.id]
    assert len(drawing.detached_labels) == 1
    assert detached[0].x > max(box.x for box in drawing.boxes if not box.detached)


async def test_page_logins_share_the_api_login_throttle(app: Quart, settings: Any) -> None:
    pages = Pages(app)
    await pages.get("/admin/login")
    for _ in range(settings.login_failures_per_email):
        status, _, _ = await pages.post("/admin/login", {"email": ADMIN_EMAIL, "password": "no"})
        assert status == 401
    status, text, _ = await pages.post(
        "/admin/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 429 and "Too many failed logins" in text
    response = await app.test_client().post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 429


# -- entry points -----------------------------------------------------------------------------


async def test_entry_points_keep_their_credentials_write_only(
    admin: Pages, services: Services
) -> None:
    routing, _ = await routing_with_version(services)
    status, text, _ = await admin.post("/admin/entry-points/new", {
        "name": "Chat", "channel": "webchat", "address": "site", "mode": "test",
        "start_routing": routing.id,
    })
    assert status == 422 and "test mode is not available for web chat" in text
    status, text, _ = await admin.post("/admin/entry-points/new", {
        "name": "Shop", "channel": "whatsapp", "address": "whatsapp:+15550001",
        "mode": "test", "start_routing": routing.id,
        "credentials.whatsapp.account_sid": "AC123",
    })
    assert status == 422 and "needs credentials: auth_token" in text
    status, _, _ = await admin.post("/admin/entry-points/new", {
        "name": "Shop", "channel": "whatsapp", "address": "whatsapp:+15550001",
        "mode": "test", "start_routing": routing.id,
        "credentials.whatsapp.account_sid": "AC123",
        "credentials.whatsapp.auth_token": "very-secret-token",
    })
    assert status == 302
    entry_point = (await services.store.entry_points.all())[0]
    _, text, _ = await admin.get("/admin/entry-points")
    assert "Shop" in text and "very-secret-token" not in text
    _, text, _ = await admin.get(f"/admin/entry-points/{entry_point.id}")
    assert "very-secret-token" not in text and "AC123" not in text
    status, _, _ = await admin.post(f"/admin/entry-points/{entry_point.id}", {
        "name": "Shop bot", "address": "whatsapp:+15550001", "mode": "test",
        "start_routing": routing.id,
    })
    assert status == 302
    saved = await services.store.entry_points.get(entry_point.id)
    assert saved.name == "Shop bot"
    assert services.entry_points.credentials(saved) == {
        "account_sid": "AC123", "auth_token": "very-secret-token",
    }
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert "Shop bot · whatsapp" not in text  # listed only while a version is in test
    status, _, response = await admin.post(f"/admin/entry-points/{entry_point.id}/delete")
    assert "Entry point Shop bot deleted." in await admin.follow(response)


async def test_the_users_api_takes_a_time_zone_by_its_iana_name(api: Any) -> None:
    created = await api.post("/api/users", json={
        "email": "tokyo@example.com", "password": "a long password", "roles": [],
        "timezone": "Asia/Tokyo"})
    assert created.status_code == 201 and created.json_body["timezone"] == "Asia/Tokyo"
    refused = await api.patch(f"/api/users/{created.json_body['id']}",
                              json={"timezone": "Tokyo"})
    assert refused.status_code == 422
    assert refused.json_body["error"] == {
        "code": "invalid", "field": "timezone",
        "message": "unknown time zone 'Tokyo': use a name like Europe/Paris"}
    cleared = await api.patch(f"/api/users/{created.json_body['id']}", json={"timezone": None})
    assert cleared.status_code == 200 and cleared.json_body["timezone"] is None


async def test_the_validation_panel_never_says_no_problem_where_production_is_refused(
    admin: Pages, services: Services
) -> None:
    routing, version = await routing_with_version(services)  # nothing after Start
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    assert "No problem found" not in text
    assert "cannot go to production: add an action after Start" in text
    await services.trees.add(ACTOR, version.id, after=version.tree.start, type="values_table",
                             params={"table": "agencies", "key": "{{ vars.city }}"})
    _, text, _ = await admin.get(f"/admin/smart-routings/{routing.id}")
    assert "1 validation error" in text
    _, text, _ = await admin.get(f"/admin/versions/{version.id}")
    assert "there is no value table &#39;agencies&#39;" in text
    assert "No problem found" not in text


async def test_queues_and_routings_are_chosen_from_those_that_exist(
    admin: Pages, services: Services, api: Any
) -> None:
    _, version = await routing_with_version(services)
    add = f"/admin/versions/{version.id}?add={version.tree.start}"
    _, text, _ = await admin.get(f"{add}&type=to_queue")
    assert '<select name="p.queue"' in text and "There is no queue yet: create one first." in text
    for name in ("Support", "Billing"):
        assert (await api.post("/api/queues", {"name": name, "members": []})).status_code == 201
    _, text, _ = await admin.get(f"{add}&type=to_queue")
    assert re.search(r'<option value="Billing"[^>]*>Billing</option>\s*'
                     r'<option value="Support"[^>]*>Support</option>', text), text
    assert "One of the queues that exist." in text
    _, text, _ = await admin.get(f"{add}&type=to_smart_routing")
    assert '<option value="sales"' in text and ">Sales (sales)</option>" in text

    await services.accounts.create_user(None, email="ada@example.com",
                                        password="a long password", roles=[],
                                        agent=AgentProfile(queues=[], capacity=2))
    _, text, _ = await admin.get(f"{add}&type=to_user")  # suggested, a template still allowed
    assert 'list="p.user-choices"' in text and '<option value="ada@example.com">' in text
    added = await services.trees.add(ACTOR, version.id, after=version.tree.start,
                                     type="to_queue", params={"queue": "Closed desk"})
    _, text, _ = await admin.get(f"/admin/versions/{version.id}?action={added.id}")
    assert '<option value="Closed desk" selected>Closed desk (does not exist)</option>' in text


async def test_an_action_moves_with_what_follows_and_the_move_can_be_undone(
    admin: Pages, services: Services
) -> None:
    _, version = await routing_with_version(services, actions=3)  # Start → 0 → 1 → 2
    step = {action.params["text"]: action.id for action in version.tree.actions
            if action.type == "message"}
    await services.trees.link(ACTOR, version.id, step["Step 0"], "next", None)  # 0 ends
    _, page, _ = await admin.get(f"/admin/versions/{version.id}?action={step['Step 2']}")
    assert "Move after…" in page
    assert f'value="{step["Step 0"]}:next"' in page  # a branch that ends the tree
    assert f'value="{step["Step 2"]}:next"' not in page  # not after its own part
    status, _, _ = await admin.post(
        f"/admin/versions/{version.id}/actions/{step['Step 2']}/move",
        {"after": f"{step['Step 0']}:next"})
    assert status == 302
    tree = (await services.store.versions.get(version.id)).tree
    assert tree.find(step["Step 0"]).next["next"] == step["Step 2"]
    assert tree.find(step["Step 1"]).next["next"] is None  # where it was now ends
    status, _, response = await admin.post(
        f"/admin/versions/{version.id}/actions/{step['Step 0']}/move",
        {"after": f"{step['Step 2']}:next"})
    text = await admin.follow(response)
    assert "after itself or after what follows it" in html.unescape(text)
    await services.trees.undo(ACTOR, version.id)
    tree = (await services.store.versions.get(version.id)).tree
    assert tree.find(step["Step 1"]).next["next"] == step["Step 2"]
    assert tree.find(step["Step 0"]).next["next"] is None
