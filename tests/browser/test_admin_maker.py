"""The seed's Maker procedures, walked in Chromium against a real service and MongoDB.

Each test leaves screenshots of the pages it visits under the test output folder.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest

from tests.browser.conftest import Server, shot_path
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


async def log_in(page: Any, server: Server, email: str = ADMIN_EMAIL,
                 password: str = ADMIN_PASSWORD) -> None:
    await page.goto(server.url + "/admin/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="At a glance")).to_be_visible()


async def create_routing(page: Any, server: Server, name: str) -> str:
    """Through the New smart routing form; returns the reference."""
    reference = unique("ref")
    await page.goto(server.url + "/admin/smart-routings")
    await page.get_by_role("link", name="New smart routing").first.click()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Reference").fill(reference)
    await page.get_by_label("Description").fill("Qualifies and routes incoming messages.")
    await page.get_by_role("button", name="Create the smart routing").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Smart routing {name} created")
    return reference


async def create_version(page: Any, name: str, copy_of: str | None = None) -> None:
    """On the routing page: Create, from zero or copying an existing version."""
    form = page.locator("form.create-version")
    if copy_of is None:
        await form.get_by_label("From zero").check()
    else:
        await form.get_by_label("Copy an existing version").check()
        select = form.get_by_label("Version to copy")
        value = await select.locator("option", has_text=copy_of).first.get_attribute("value")
        await select.select_option(value)
    await form.get_by_label("Name").fill(name)
    await form.get_by_role("button", name="Create").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Version {name} created")


async def add_action(page: Any, opener: Any, type_key: str, values: dict[str, str]) -> None:
    """Click an add point of the tree, choose the type, fill the generated form, add."""
    await opener.click()
    await page.get_by_label("Type of action").select_option(type_key)
    form = page.locator("form.action-form")
    await expect(form).to_be_visible()
    for name, value in values.items():
        await form.locator(f'[name="{name}"]').fill(value)
    await form.get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")


async def api_version(page: Any, server: Server, texts: list[str]) -> tuple[str, str]:
    """A routing and a version with a chain of messages, made through the JSON API; the
    browser logs in and opens the version page. Returns (routing id, version id)."""
    routing = server.api("POST", "/api/smart-routings", {
        "name": unique("Editor"), "reference": unique("editor"), "type": "start",
    })
    version = server.api("POST", f"/api/smart-routings/{routing['id']}/versions", {"name": "V1"})
    after = version["tree"]["start"]
    for text in texts:
        after = server.api("POST", f"/api/versions/{version['id']}/actions", {
            "type": "message", "params": {"text": text}, "after": {"action": after},
        })["id"]
    await log_in(page, server)
    await page.goto(server.url + f"/admin/versions/{version['id']}")
    return routing["id"], version["id"]


async def add_choice(page: Any, opener: Any, text: str, choices: list[tuple[str, str]]) -> None:
    """A message with choices, each a row added with the form's "+ Add a choice" button."""
    await opener.click()
    await page.get_by_label("Type of action").select_option("message_choice")
    form = page.locator("form.action-form")
    await form.locator('[name="p.text"]').fill(text)
    for index, (label, value) in enumerate(choices):
        await form.get_by_role("button", name="+ Add a choice").click()
        await form.locator(f'[name="p.choices.{index}.label"]').fill(label)
        await form.locator(f'[name="p.choices.{index}.value"]').fill(value)
        await form.locator(f'[name="p.choices.{index}.branch"]').fill(value)
    await form.get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")


def version_id_of(page: Any) -> str:
    found = re.search(r"/admin/versions/([^/?#]+)", page.url)
    assert found, page.url
    return found.group(1)


async def test_login_and_logout(page: Any, server: Server) -> None:
    await page.goto(server.url + "/admin/smart-routings")
    await expect(page).to_have_url(re.compile(r"/admin/login"))
    await page.screenshot(path=shot_path("01-login"))
    await page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password")
    await log_in(page, server)
    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    assert cookies["session"]["httpOnly"] is True
    assert cookies["session"]["sameSite"] == "Lax"
    await page.get_by_role("button", name="Log out").click()
    await expect(page.locator(".flash-info")).to_contain_text("You are logged out")
    await page.goto(server.url + "/admin/smart-routings")
    await expect(page).to_have_url(re.compile(r"/admin/login"))


async def test_routing_create_edit_copy_delete(page: Any, server: Server) -> None:
    await log_in(page, server)
    name = unique("Sales desk")
    reference = await create_routing(page, server, name)
    # The detail page says what to do first.
    await expect(page.locator(".helper-text")).to_have_text(
        "Create a version of this smart routing to manage your incoming interactions. "
        "You can then place it in production."
    )
    await page.screenshot(path=shot_path("03-routing-empty"))

    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_text("the type cannot be changed after creation")).to_be_visible()
    await expect(page.locator('input[name="type"]')).to_have_count(0)
    await page.get_by_label("Description").fill("Routes sales questions.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash-success")).to_contain_text("Smart routing saved")

    # A reference already taken is refused, next to the field.
    await page.goto(server.url + "/admin/smart-routings/new")
    await page.get_by_label("Name").fill("Duplicate reference")
    await page.get_by_label("Reference").fill(reference)
    await page.get_by_role("button", name="Create the smart routing").click()
    await expect(page.locator(".field-error")).to_contain_text("already used")

    await page.goto(server.url + "/admin/smart-routings")
    row = page.locator(f'tr[data-routing="{reference}"]')
    await row.get_by_role("link", name="Copy").click()
    await page.get_by_label("Name").fill(f"{name} copy")
    await page.get_by_label("Reference").fill(f"{reference}-copy")
    await page.get_by_role("button", name="Copy the smart routing").click()
    await expect(page.locator(".flash-success")).to_contain_text("Smart routing copied")

    await page.goto(server.url + "/admin/smart-routings")
    await page.screenshot(path=shot_path("02-routing-list"))
    copy_row = page.locator(f'tr[data-routing="{reference}-copy"]')
    await copy_row.get_by_role("button", name="Delete").click()
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_contain_text("Delete the smart routing")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(copy_row).to_be_visible()
    await copy_row.get_by_role("button", name="Delete").click()
    await dialog.get_by_role("button", name="Delete the smart routing").click()
    await expect(page.locator(".flash-success")).to_contain_text("deleted")
    await expect(copy_row).to_have_count(0)
    await expect(page.locator(f'tr[data-routing="{reference}"]')).to_be_visible()


async def test_tree_editor_adds_after_and_between(page: Any, server: Server) -> None:
    await log_in(page, server)
    await create_routing(page, server, unique("Support"))
    await create_version(page, "First draft")
    version_id = version_id_of(page)
    tree = page.locator("svg.tree")
    await expect(tree.locator(".box")).to_have_count(1)

    # Add an action after Start.
    await add_action(page, tree.locator("a.add-end").first, "message", {"p.text": "Hello!"})
    # Add an action after it: a question, left incomplete first — the error shows inline.
    await tree.locator("a.add-end").first.click()
    await page.get_by_label("Type of action").select_option("message_wait")
    form = page.locator("form.action-form")
    await form.locator('[name="name"]').fill("Ask the order number")
    await form.locator('[name="p.text"]').fill("What is your order number?")
    await form.get_by_role("button", name="Add the action").click()
    error = page.locator("form.action-form .field.has-error .field-error")
    await expect(error).to_be_visible()
    await expect(page.locator("form.action-form .has-error input")).to_have_attribute(
        "name", "p.into"
    )
    await page.screenshot(path=shot_path("06-editor-inline-error"))
    await form.locator('[name="p.into"]').fill("order_number")
    await form.get_by_label("Record the passage in this action").check()
    await form.get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")

    # Add an action between Start and the message.
    await add_action(page, tree.locator("a.plus").first, "checkpoint", {"p.label": "Welcome"})
    version = server.api("GET", f"/api/versions/{version_id}")
    actions = {action["id"]: action for action in version["tree"]["actions"]}
    start = actions[version["tree"]["start"]]
    checkpoint = actions[start["next"]["next"]]
    assert checkpoint["type"] == "checkpoint"
    assert actions[checkpoint["next"]["next"]]["params"]["text"] == "Hello!"
    question = next(a for a in actions.values() if a["type"] == "message_wait")
    assert question["record_passage"] is True
    await page.screenshot(path=shot_path("05-tree-editor-added"))


async def test_tree_editor_rows_loops_copies_changes_and_deletes(
    page: Any, server: Server
) -> None:
    _, version_id = await api_version(page, server, ["Hello!"])
    tree = page.locator("svg.tree")
    await add_action(page, tree.locator("a.add-end").first, "message_wait", {
        "name": "Ask the order number", "p.text": "Order number?", "p.into": "order",
    })
    question = server.api("GET", f"/api/versions/{version_id}")["tree"]["actions"][-1]

    # A choice with two rows added by the repeatable-rows control.
    await add_choice(page, tree.locator("a.add-end").first, "Sales or support?",
                     [("Sales", "sales"), ("Support", "support")])
    await expect(page.locator('.action-form [name="p.choices.1.branch"]')).to_have_value(
        "support"
    )
    await page.screenshot(path=shot_path("06-action-form-rows"))
    await expect(tree.locator(".branch-label", has_text="support")).to_be_visible()

    # A node on the "invalid" branch of the question, linked back to it: a loop.
    question_box = tree.locator(f'#a-{question["id"]} a')
    await question_box.click()
    panel = page.locator(".side-pane")
    await panel.get_by_label("On branch").select_option("invalid")
    await panel.get_by_role("button", name="Add an action after this one").click()
    await page.get_by_label("Type of action").select_option("node")
    await page.locator("form.action-form").get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")
    link_form = page.locator("form.link-form").first
    await link_form.locator("select").select_option(question["id"])
    await link_form.get_by_role("button", name="Save the link").click()
    await expect(page.locator(".flash-success")).to_contain_text("Branch next linked")
    await expect(tree.locator("a.goto")).to_contain_text("goes to Ask the order number")

    # Copy the message of this version after the "sales" choice.
    await tree.locator("a.add-end").first.click()
    await page.get_by_role("link", name="Copy an action").click()
    copy_select = page.get_by_label("Action to copy")
    hello = await copy_select.locator("option", has_text="Hello!").get_attribute("value")
    await copy_select.select_option(hello)
    await page.get_by_role("button", name="Copy this action here").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")
    await expect(tree.locator(".box")).to_have_count(6)

    # Change an action: its form is generated from the type's parameters.
    await tree.locator(".box", has_text="Hello!").first.locator("a").click()
    await page.locator('.action-form [name="p.text"]').fill("Welcome!")
    await page.get_by_role("button", name="Save the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action saved")
    await expect(tree.locator(".box", has_text="Welcome!")).to_be_visible()

    # Unlink, then delete an action.
    await tree.locator(".box", has_text="Node").locator("a").click()
    await page.locator("form.link-form").first.get_by_role(
        "button", name="Remove the link"
    ).click()
    await expect(page.locator(".flash-success")).to_contain_text("now ends the tree")
    await expect(tree.locator("a.goto")).to_have_count(0)
    await page.get_by_role("button", name="Delete the action").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Delete the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action deleted")
    await expect(tree.locator(".box")).to_have_count(5)
    await page.screenshot(path=shot_path("05-tree-editor"))

    # Without a selected action, the panel shows the validation report.
    await expect(page.locator(".side-pane .report")).to_be_visible()


async def test_test_mode_production_backup_duplicate_delete(page: Any, server: Server) -> None:
    await log_in(page, server)
    await create_routing(page, server, unique("Billing"))
    routing_url = page.url
    await create_version(page, "V1")
    tree = page.locator("svg.tree")
    await add_action(page, tree.locator("a.add-end").first, "message", {"p.text": "Hi from V1"})
    await page.goto(routing_url)
    card = page.locator('.version-card[data-version="V1"]')

    # Put in test, then remove from test.
    await card.get_by_role("button", name="Put in test").click()
    await expect(page.locator(".flash-success")).to_contain_text("is in test")
    await expect(card.locator(".tag-test")).to_have_text("In testing")
    await page.screenshot(path=shot_path("04-routing-versions-in-test"))
    await card.get_by_role("button", name="Remove from test").click()
    await expect(page.locator(".flash-success")).to_contain_text("no longer in test")
    await expect(card.locator(".tag-test")).to_have_count(0)

    # Put in production through the confirmation dialog.
    await card.get_by_role("button", name="Put in production").click()
    dialog = page.locator("dialog[open]")
    await expect(dialog).to_contain_text("read-only")
    await expect(dialog).to_contain_text("No problem found")
    await page.screenshot(path=shot_path("07-production-dialog"))
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.locator("dialog[open]")).to_have_count(0)
    await card.get_by_role("button", name="Put in production").click()
    await page.locator("dialog[open]").get_by_role("button", name="Put in production").click()
    await expect(page.locator(".flash-success")).to_contain_text("Version V1 is in production")
    production = page.locator("section[aria-labelledby=production-heading]")
    await expect(production.locator(".version-card")).to_have_attribute("data-version", "V1")
    # Production is read-only: only View and Duplicate.
    await expect(production.get_by_role("button", name="Put in test")).to_have_count(0)
    await expect(production.get_by_role("button", name="Delete")).to_have_count(0)
    await production.get_by_role("link", name="View").click()
    await expect(page.locator(".banner-readonly")).to_contain_text("read-only")
    await expect(page.locator("svg.tree a.add-end, svg.tree a.plus")).to_have_count(0)
    await page.screenshot(path=shot_path("08-version-read-only"))


async def test_backup_duplicate_and_delete(page: Any, server: Server) -> None:
    routing_id, version_id = await api_version(page, server, ["Hi from V1"])
    server.api("POST", f"/api/versions/{version_id}/production")
    routing_url = server.url + f"/admin/smart-routings/{routing_id}"
    await page.goto(routing_url)
    production = page.locator("section[aria-labelledby=production-heading]")

    # A second version, copying the first, replaces it: the first goes to backup.
    await create_version(page, "V2", copy_of="V1")
    await page.goto(routing_url)
    card2 = page.locator('.version-card[data-version="V2"]')
    await card2.get_by_role("button", name="Put in production").click()
    dialog = page.locator("dialog[open]")
    await expect(dialog).to_contain_text(
        "The version currently in production, V1, will go to backup"
    )
    await dialog.get_by_role("button", name="Put in production").click()
    await expect(page.locator(".flash-success")).to_contain_text("Version V1 is now in backup")
    backup = page.locator("section[aria-labelledby=backup-heading]")
    await expect(backup.locator(".version-card")).to_have_attribute("data-version", "V1")
    await expect(production.locator(".version-card")).to_have_attribute("data-version", "V2")

    # Duplicate the production version: a new development version, opened at once.
    await production.get_by_role("button", name="Duplicate").click()
    await expect(page.locator(".flash-success")).to_contain_text("Version V2 (copy) created")
    await expect(page.get_by_role("heading", name=re.compile(r"^V2 \(copy\)"))).to_be_visible()
    await page.goto(routing_url)
    development = page.locator("section[aria-labelledby=development-heading]")
    await expect(development.locator('.version-card[data-version="V2 (copy)"]')).to_be_visible()
    await page.screenshot(path=shot_path("09-routing-versions"), full_page=True)

    # Delete the backup, after confirming.
    await backup.get_by_role("button", name="Delete").click()
    await page.locator("#confirm-dialog").get_by_role("button", name="Delete the version").click()
    await expect(page.locator(".flash-success")).to_contain_text("Version V1 deleted")
    await expect(backup.locator(".version-card")).to_have_count(0)

    # The list shows the production version.
    await page.goto(server.url + "/admin/smart-routings")
    await expect(page.locator("tbody")).to_contain_text("V2")


async def test_schedule_and_cancel_a_production(page: Any, server: Server) -> None:
    await log_in(page, server)
    await create_routing(page, server, unique("Night shift"))
    routing_url = page.url
    await create_version(page, "Night")
    tree = page.locator("svg.tree")
    await add_action(page, tree.locator("a.add-end").first, "message", {"p.text": "Good night"})
    await page.goto(routing_url)
    card = page.locator('.version-card[data-version="Night"]')

    # A date in the past is refused with a readable message.
    await card.get_by_role("button", name="Schedule the production").click()
    await page.locator("dialog[open] input[name=at]").fill("2001-01-01T10:00")
    await page.locator("dialog[open]").get_by_role(
        "button", name="Schedule the production"
    ).click()
    await expect(page.locator(".flash-error")).to_contain_text("strictly in the future")

    year = time.gmtime().tm_year + 2
    await card.get_by_role("button", name="Schedule the production").click()
    await page.locator("dialog[open] input[name=at]").fill(f"{year}-03-15T09:30")
    await page.locator("dialog[open]").get_by_role(
        "button", name="Schedule the production"
    ).click()
    scheduled = ("This version has been put in scheduled production for "
                 f"15 March {year} at 09:30 (UTC)")
    await expect(card.locator(".banner-scheduled")).to_have_text(scheduled)
    await expect(page.locator(".banner-scheduled, .flash")).to_have_count(1)  # one banner
    production = page.locator("section[aria-labelledby=production-heading]")
    await expect(production).to_contain_text(
        f"Version Night goes into production on 15 March {year} at 09:30 (UTC)."
    )
    await page.reload()  # it stands as long as the schedule does
    await expect(card.locator(".banner-scheduled")).to_have_text(scheduled)
    await expect(card.locator(".tag-scheduled")).to_be_visible()
    await page.screenshot(path=shot_path("10-scheduled-production"))
    await page.goto(server.url + "/admin/smart-routings")
    await expect(page.locator("tbody")).to_contain_text(f"15 March {year}")

    await page.goto(routing_url)
    await card.get_by_role(
        "button", name="Remove the planned production from the schedule"
    ).click()
    await expect(page.locator(".flash-success")).to_contain_text("removed from the schedule")
    await expect(production.locator(".banner-scheduled")).to_have_count(0)
    await expect(card.get_by_role("button", name="Schedule the production")).to_be_visible()


async def test_a_user_without_edit_permission_cannot_change_anything(
    page: Any, server: Server
) -> None:
    viewer_email = f"{unique('viewer')}@example.com"
    role = unique("readers")
    server.api("POST", "/api/roles", {"name": role, "permissions": ["smart_routings:read"]})
    server.api("POST", "/api/users", {
        "email": viewer_email, "password": "viewer password", "roles": [role],
    })
    routing = server.api("POST", "/api/smart-routings", {
        "name": unique("Read only"), "reference": unique("readonly"), "type": "start",
    })
    version = server.api("POST", f"/api/smart-routings/{routing['id']}/versions", {"name": "V1"})

    await log_in(page, server, viewer_email, "viewer password")
    await page.goto(server.url + "/admin/smart-routings")
    await expect(page.get_by_role("heading", name="Messaging smart routings")).to_be_visible()
    await expect(page.get_by_role("link", name="New smart routing")).to_have_count(0)
    row = page.locator(f'tr[data-routing="{routing["reference"]}"]')
    await expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    await expect(row.get_by_role("button", name="Delete")).to_have_count(0)
    await row.get_by_role("link", name=routing["name"]).click()
    for label in ("Put in production", "Put in test", "Schedule the production", "Duplicate",
                  "Delete", "Create"):
        await expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)
    await expect(page.locator("form.create-version")).to_have_count(0)
    await page.get_by_role("link", name="View").click()
    await expect(page.locator(".banner-readonly")).to_contain_text("does not allow changing")
    await expect(page.locator("svg.tree a.add-end, svg.tree a.plus")).to_have_count(0)
    await page.locator("svg.tree .box a").first.click()
    await expect(page.locator(".action-form fieldset[disabled]")).to_have_count(1)
    await page.screenshot(path=shot_path("11-viewer-version"))

    await page.goto(server.url + "/admin/smart-routings/new")
    await expect(page.get_by_role("heading", name="You cannot do this")).to_be_visible()
    await page.screenshot(path=shot_path("12-forbidden"))
    await page.goto(server.url + f"/admin/versions/{version['id']}?add=x")
    await expect(page.locator("form.action-form")).to_have_count(0)


async def test_a_200_action_tree_stays_usable(page: Any, server: Server) -> None:
    routing = server.api("POST", "/api/smart-routings", {
        "name": unique("Big tree"), "reference": unique("big"), "type": "start",
    })
    version = server.api("POST", f"/api/smart-routings/{routing['id']}/versions", {"name": "Big"})
    path = f"/api/versions/{version['id']}/actions"
    after = version["tree"]["start"]
    question = ""
    for index in range(200):
        if index % 4 == 1:
            question = after = server.api("POST", path, {
                "type": "message_wait", "name": f"Question {index}",
                "params": {"text": f"Question {index}?", "into": "answer"},
                "after": {"action": after},
            })["id"]
        elif index % 4 == 3:
            node = server.api("POST", path, {
                "type": "node", "after": {"action": question, "branch": "invalid"},
            })["id"]
            server.api("PUT", f"/api/versions/{version['id']}/links",
                       {"from": node, "branch": "next", "to": question})
        else:
            after = server.api("POST", path, {
                "type": "message", "params": {"text": f"Step {index}"},
                "after": {"action": after},
            })["id"]

    await log_in(page, server)
    started = time.perf_counter()
    await page.goto(server.url + f"/admin/versions/{version['id']}")
    elapsed = time.perf_counter() - started
    tree = page.locator("svg.tree")
    await expect(tree.locator(".box")).to_have_count(201)
    await expect(tree.locator("a.goto")).to_have_count(50)
    assert elapsed < 3.0, f"the page took {elapsed:.2f} s to load"
    await page.screenshot(path=shot_path("13-tree-200-actions"))
    await page.get_by_role("button", name="Fit").click()
    # Fit never shrinks the labels past legibility: the rest is reached by dragging
    await expect(page.locator("[data-zoom=reset]")).to_have_text("50%")
    await page.screenshot(path=shot_path("14-tree-200-actions-fit"))
    scroll = page.locator("[data-tree-scroll]")
    before = await scroll.evaluate("box => [box.scrollLeft, box.scrollTop]")
    area = await scroll.bounding_box()
    assert area is not None
    start_x, start_y = area["x"] + area["width"] - 30, area["y"] + area["height"] - 30
    await page.mouse.move(start_x, start_y)
    await page.mouse.down()
    await page.mouse.move(start_x - 200, start_y - 150, steps=5)
    await page.mouse.up()
    after_drag = await scroll.evaluate("box => [box.scrollLeft, box.scrollTop]")
    assert after_drag[1] > before[1], (before, after_drag)  # dragged like a map
    # The outline lists every action in the tree's order, loops as "back to", and opens one
    outline = page.locator("[data-outline]")
    await expect(outline).to_have_attribute("open", "")
    await expect(outline.locator("li.outline-action")).to_have_count(201)
    await expect(outline.locator("li.outline-goto")).to_have_count(50)
    await outline.get_by_role("link", name="Question 197", exact=True).click()
    await expect(page.locator(".side-pane")).to_contain_text("Question 197?")
    # Selecting an action deep in the tree brings it into view.
    await page.goto(server.url + f"/admin/versions/{version['id']}?action={after}")
    await expect(tree.locator(f"#a-{after}")).to_be_in_viewport()


async def test_history_panel_and_interaction_viewer(page: Any, server: Server) -> None:
    from pymongo import MongoClient

    from routing_core.model.interaction import Channel, Event, Interaction

    routing = server.api("POST", "/api/smart-routings", {
        "name": unique("History"), "reference": unique("history"), "type": "start",
    })
    version = server.api("POST", f"/api/smart-routings/{routing['id']}/versions", {"name": "V1"})
    start = version["tree"]["start"]
    path = f"/api/versions/{version['id']}/actions"
    ask = server.api("POST", path, {
        "type": "message_wait", "name": "Ask the name",
        "params": {"text": "Your name?", "into": "name"}, "after": {"action": start},
    })["id"]
    thanks = server.api("POST", path, {
        "type": "message", "params": {"text": "Thanks {{ vars.name }}"},
        "after": {"action": ask, "branch": "answered"},
    })["id"]
    execution = Interaction(
        entry_point_id="ep-test", channel=Channel.telegram, contact="4242",
        contact_name="Ada", contact_id="contact-1", routing_id=routing["id"],
        version_id=version["id"], revision=3, test=True, path=[start, ask, thanks],
        variables={"name": "Ada"},
    )
    events = [
        Event(interaction_id=execution.id, type="inbound", data={"text": "hi"}),
        Event(interaction_id=execution.id, type="passage", action=ask, data={}),
        Event(interaction_id=execution.id, type="outbound", action=ask,
              data={"text": "Your name?"}),
        Event(interaction_id=execution.id, type="inbound", data={"text": "Ada"}),
        Event(interaction_id=execution.id, type="variables", action=ask,
              data={"name": "Ada"}),
        Event(interaction_id=execution.id, type="outbound", action=thanks,
              data={"text": "Thanks Ada"}),
    ]
    with MongoClient(server.mongodb_uri) as client:
        database = client[server.database]
        database["interactions"].insert_one(execution.to_document())
        database["events"].insert_many([event.to_document() for event in events])

    await log_in(page, server)
    await page.goto(server.url + f"/admin/versions/{version['id']}")
    history = page.locator("section[aria-labelledby=history-heading]")
    await history.get_by_role("link", name=re.compile("Ada")).click()
    await expect(page.locator("svg.tree .box.on-path")).to_have_count(3)
    await expect(page.locator(".execution-panel .events")).to_contain_text("Thanks Ada")
    await page.screenshot(path=shot_path("15-test-execution"))
    await page.get_by_role("link", name="Open the interaction").click()
    await expect(page.get_by_role("heading", name="Conversation with Ada")).to_be_visible()
    await expect(page.locator(".events li")).to_have_count(6)
    await page.screenshot(path=shot_path("16-interaction"))


async def test_nested_parameter_rows(page: Any, server: Server) -> None:
    """A values test: cases are rows, each with its own rows of conditions."""
    _, version_id = await api_version(page, server, [])
    version = server.api("GET", f"/api/versions/{version_id}")
    test = server.api("POST", f"/api/versions/{version_id}/actions", {
        "type": "values_test", "name": "Customer tier",
        "params": {"cases": [{"branch": "vip", "conditions": [
            {"left": "{{ contact.tier }}", "operator": "equals", "right": "gold"}]}]},
        "after": {"action": version["tree"]["start"]},
    })
    await page.goto(server.url + f"/admin/versions/{version_id}?action={test['id']}")
    form = page.locator("form.action-form")
    # A second condition in the first case, then a second case with one condition.
    case = form.locator(".row-item").first
    await case.get_by_role("button", name="+ Add a condition").click()
    await form.locator('[name="p.cases.0.conditions.1.left"]').fill("{{ vars.amount }}")
    await form.locator('[name="p.cases.0.conditions.1.operator"]').select_option("gt")
    await form.locator('[name="p.cases.0.conditions.1.right"]').fill("100")
    await form.get_by_role("button", name="+ Add a case").click()
    await form.locator('[name="p.cases.1.branch"]').fill("known")
    await form.locator("[data-prefix='p.cases.1.conditions']").get_by_role(
        "button", name="+ Add a condition"
    ).click()
    await form.locator('[name="p.cases.1.conditions.0.left"]').fill("{{ contact.name }}")
    await form.locator('[name="p.cases.1.conditions.0.operator"]').select_option("is_not_empty")
    await page.screenshot(path=shot_path("17-action-form-nested-rows"))
    await form.get_by_role("button", name="Save the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action saved")
    saved = server.api("GET", f"/api/versions/{version_id}/actions/{test['id']}")
    assert saved["params"]["cases"] == [
        {"branch": "vip", "conditions": [
            {"left": "{{ contact.tier }}", "operator": "equals", "right": "gold"},
            {"left": "{{ vars.amount }}", "operator": "gt", "right": "100"}]},
        {"branch": "known", "conditions": [
            {"left": "{{ contact.name }}", "operator": "is_not_empty", "right": ""}]},
    ]
    assert set(saved["next"]) == {"vip", "known", "other"}
    await expect(page.locator("svg.tree .branch-label", has_text="known")).to_be_visible()


async def test_entry_points_and_the_test_entry_points_of_a_card(
    page: Any, server: Server
) -> None:
    routing_id, version_id = await api_version(page, server, ["Hello tester"])
    await page.goto(server.url + "/admin/entry-points")
    await page.get_by_role("link", name="New entry point").first.click()
    await page.locator('[name="name"]').fill("QA WhatsApp")
    await page.get_by_label("Channel").select_option("whatsapp")
    await expect(page.locator(".credentials-whatsapp")).to_be_visible()
    await expect(page.locator(".credentials-messenger")).to_be_hidden()
    await page.locator('[name="address"]').fill(f"whatsapp:+1555{secrets.randbelow(10**6):06d}")
    await page.get_by_label("Mode").select_option("test")
    start = page.get_by_label("Interaction start smart routing")
    await start.select_option(routing_id)
    await page.get_by_label("Account sid").fill("AC-test")
    await page.screenshot(path=shot_path("18-entry-point-form"))
    await page.get_by_role("button", name="Create the entry point").click()
    await expect(page.locator(".field-error")).to_contain_text("needs credentials: auth_token")
    await page.get_by_label("Account sid").fill("AC-test")
    await page.get_by_label("Auth token").fill("secret-auth-token")
    await page.get_by_role("button", name="Create the entry point").click()
    await expect(page.locator(".flash-success")).to_contain_text("Entry point QA WhatsApp created")
    await expect(page.locator("body")).not_to_contain_text("secret-auth-token")
    await page.screenshot(path=shot_path("19-entry-points"))

    server.api("POST", f"/api/versions/{version_id}/test")
    await page.goto(server.url + f"/admin/smart-routings/{routing_id}")
    card = page.locator('.version-card[data-version="V1"]')
    await expect(card).to_contain_text("Test entry points: QA WhatsApp · whatsapp")


async def test_the_palette_finds_an_action_by_its_name_and_the_keyboard_picks_it(
    page: Any, server: Server
) -> None:
    await log_in(page, server)
    await create_routing(page, server, unique("Palette"))
    await create_version(page, "Draft")
    await page.locator("svg.tree a.add-end").first.click()
    search = page.get_by_test_id("palette-search")
    await expect(search).to_be_focused()
    palette = page.locator(".palette-list")
    for title in ("Simple message", "Message awaiting response", "Message with choice",
                  "Test a value(s)", "Distribution to queue"):
        await expect(palette.get_by_role("option", name=title, exact=False)).to_have_count(1)
    await search.fill("awaiting")  # the start of a word of its name is enough
    await expect(palette.locator(".palette-item:visible")).to_have_count(1)
    await expect(palette.locator(".palette-item:visible")).to_contain_text(
        "Asks a question and keeps the validated answer")  # its one-line description
    await page.screenshot(path=shot_path("palette-search"))
    await search.press("Enter")
    form = page.locator("form.action-form")
    await expect(form).to_be_visible()
    await expect(form.locator('[name="p.text"]')).to_be_visible()
    await expect(page.get_by_label("Type of action")).to_have_value("message_wait")


async def test_a_french_admin_builds_in_french(browser: Any, server: Server) -> None:
    """The panel after the browser's language: a French admin creates a smart routing and
    a version with the French words of the seed's buttons, and the version page explains
    test mode in French."""
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(server.url + "/admin/login")
        await page.get_by_label("E-mail").fill(ADMIN_EMAIL)
        await page.get_by_label("Mot de passe").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await expect(page.get_by_role("heading", name="En un coup d'œil")).to_be_visible()
        await page.goto(server.url + "/admin/smart-routings")
        await page.get_by_role("link", name="Nouveau routage intelligent").first.click()
        await page.get_by_label("Nom").fill(unique("Ventes"))
        await page.get_by_label("Référence").fill(unique("ventes"))
        await page.get_by_role("button", name="Créer le routage intelligent").click()
        form = page.locator("form.create-version")
        await form.get_by_label("À partir de zéro").check()
        await form.get_by_label("Nom").fill("v1")
        await form.get_by_role("button", name="Créer").click()
        # the new version's page: its buttons and the test mode explained in French
        await expect(page.get_by_role("button", name="Mettre en test")).to_be_visible()
        await expect(page.get_by_role("button", name="Planifier la mise en production")
                     ).to_be_visible()
        await expect(page.locator("[data-test-mode-help]")).to_contain_text(
            "Le chat web n'a pas de mode test")
        await page.screenshot(path=shot_path("panel-french-version"))
        # what the page's script writes speaks French too: the palette of a new action
        await page.locator("svg.tree a.add-end").first.click()
        await expect(page.get_by_test_id("palette-search")).to_have_attribute(
            "placeholder", "Chercher une action…")
        await page.get_by_test_id("palette-search").fill("attente")  # typed in French
        await expect(page.locator(".palette-item:visible")).to_contain_text(
            ["Message en attente de réponse"])
        await expect(page.locator(".palette-group:visible").first).to_have_text("Messagerie")
        await page.go_back()
        await page.locator(".breadcrumbs a").last.click()  # the routing's page
        card = page.locator(".version-card")
        await expect(card).to_contain_text("0 action après Départ")
        await expect(page.get_by_role("heading", name="En développement")).to_be_visible()
        await page.screenshot(path=shot_path("panel-french-routing"))
    finally:
        await context.close()
