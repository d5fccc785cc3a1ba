"""A campaign's targets in Chromium: a CSV file with a bad line refused with its line named,
then the corrected file uploaded and its targets listed. Screenshots of both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, shot_path
from tests.browser.test_admin_maker import expect, log_in, unique

pytestmark = pytest.mark.browser

GOOD = b"phone,name\n+33612345678,Ada\n+441632960001,Bob\n"


def csv_file(content: bytes) -> dict[str, Any]:
    return {"name": "targets.csv", "mimeType": "text/csv", "buffer": content}


async def test_targets_are_imported_from_a_csv_file(page: Any, server: Server) -> None:
    name = unique("spring")
    campaign = server.api("POST", "/api/campaigns", {
        "name": name, "kind": "sms", "message": "Hello {{ target.name }}"})
    await log_in(page, server)
    await page.goto(f"{server.url}/admin/campaigns/{campaign['id']}/targets")
    await expect(page.get_by_role("heading", name=f"Targets of {name}")).to_be_visible()

    form = page.locator("#import-targets form")
    await form.locator('input[type="file"]').set_input_files(
        csv_file(GOOD + b"0612,Cy\n"))
    await form.get_by_role("button", name="Import the targets").click()
    await expect(page.locator("[data-import-problems]")).to_contain_text(
        "Line 4: not a phone number in international form: '0612'")
    await expect(page.locator("tr[data-target]")).to_have_count(0)
    await page.screenshot(path=shot_path("campaign-targets-01-refused"), full_page=True)

    await form.locator('input[type="file"]').set_input_files(csv_file(GOOD))
    await form.get_by_role("button", name="Import the targets").click()
    await expect(page.locator(".flash-success")).to_contain_text(
        "2 targets added from targets.csv")
    await expect(page.locator("tr[data-target]")).to_have_count(2)
    await expect(page.locator('tr[data-target="+441632960001"]')).to_contain_text("Bob")
    await expect(page.locator('[data-figure="pending"]')).to_have_text("2")
    await page.screenshot(path=shot_path("campaign-targets-02-imported"), full_page=True)
