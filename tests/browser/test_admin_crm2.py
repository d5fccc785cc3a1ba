"""CRM V2 in Chromium: a type with two fields made in the fields editor, an object added,
refused for a taken unique value, edited, and seen in the grid; the type then refuses to
retype a field the object uses. Screenshots of each page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, shot_path
from tests.browser.test_admin_maker import expect, log_in, unique

pytestmark = pytest.mark.browser


def navigation(page: Any) -> Any:
    return page.get_by_role("navigation", name="Main")


async def test_a_type_and_its_objects(page: Any, server: Server) -> None:
    name = unique("vehicle").replace("-", "_")
    await log_in(page, server)
    await navigation(page).get_by_role("link", name="CRM V2 types").click()
    await page.get_by_role("link", name="New type").first.click()
    form = page.locator("form.crm-type-form")
    await form.locator('[name="name"]').fill(name)
    await form.locator('[name="description"]').fill("The fleet's vehicles.")
    await form.locator('[name="fields.0.name"]').fill("plate")
    await form.locator('[name="fields.0.required"]').check()
    await form.locator('[name="fields.0.unique"]').check()
    await form.get_by_role("button", name="+ Add a field").click()
    await form.locator('[name="fields.1.name"]').fill("mileage")
    await form.locator('[name="fields.1.type"]').select_option("number")
    await page.screenshot(path=shot_path("crm2-01-type-form"), full_page=True)
    await form.get_by_role("button", name="Create the type").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Type {name} created")
    await expect(page.get_by_role("heading", name=f"Objects of {name}")).to_be_visible()

    await page.get_by_role("link", name="New object").first.click()
    await page.get_by_label("plate").fill("AB-123-CD")
    await page.get_by_label("mileage").fill("12000")
    await page.get_by_role("button", name="Create the object").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Object added to {name}")

    await page.get_by_role("link", name="New object").first.click()
    await page.get_by_label("plate").fill("AB-123-CD")
    await page.get_by_role("button", name="Create the object").click()
    await expect(page.locator(".field-error")).to_contain_text(
        "another object already has 'AB-123-CD' in the unique field plate")
    await page.screenshot(path=shot_path("crm2-02-object-unique-clash"), full_page=True)
    await page.get_by_role("link", name="Cancel").click()

    row = page.locator("tr[data-object]", has_text="AB-123-CD")
    await row.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("mileage")).to_have_value("12000")
    await page.get_by_label("mileage").fill("15250")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash-success")).to_contain_text(f"Object saved in {name}")
    await expect(page.locator("tr[data-object]")).to_have_count(1)
    await expect(row.locator("td").nth(1)).to_have_text("15250")
    await page.screenshot(path=shot_path("crm2-03-objects-grid"), full_page=True)

    await page.get_by_role("link", name="Edit the type").click()
    await page.locator('[name="fields.1.type"]').select_option("text")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".row-item.has-error .row-error")).to_have_text(
        "cannot retype 'mileage': objects hold values in it")
    await page.screenshot(path=shot_path("crm2-04-type-refused"), full_page=True)

    await navigation(page).get_by_role("link", name="CRM V2 types").click()
    listed = page.locator("tr[data-item]", has_text=name)
    await expect(listed.locator("[data-objects]")).to_have_text("1")
    await page.screenshot(path=shot_path("crm2-05-types"), full_page=True)
