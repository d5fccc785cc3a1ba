"""A campaign's targets page through the test client: one target added (or refused inline)
and deleted; a CSV file imported whole or not at all, its bad lines named; CSRF and
permissions."""

from __future__ import annotations

import io
from typing import Any

from quart import Quart
from werkzeug.datastructures import FileStorage

from admin.pages.target_csv import MAX_BYTES, MAX_ROWS
from routing_core.model.campaigns import Campaign
from routing_core.services import Services
from tests.integration.test_admin_pages import ACTOR, Pages, admin

__all__ = ["admin"]


async def spring(services: Services) -> Campaign:
    return await services.campaigns.create(ACTOR, name="spring", kind="sms",
                                           message="Hello {{ target.name }}")


def url(campaign: Campaign, rest: str = "") -> str:
    return f"/admin/campaigns/{campaign.id}/targets{rest}"


async def upload(pages: Pages, campaign: Campaign, content: bytes, csrf: bool = True,
                 filename: str = "targets.csv") -> tuple[int, str, Any]:
    form = {"csrf_token": pages.csrf} if csrf else {}
    response = await pages.client.post(
        url(campaign, "/import"), form=form,
        files={"csv_file": FileStorage(io.BytesIO(content), filename=filename,
                                       content_type="text/csv")},
    )
    return response.status_code, await response.get_data(as_text=True), response


async def phones(services: Services, campaign: Campaign) -> list[str]:
    targets, _ = await services.campaigns.list_targets(campaign.id, {})
    return sorted(target.phone for target in targets)


async def audited(services: Services, action: str) -> list[dict[str, Any]]:
    return await services.store.audit.collection.find({"action": action}).to_list()


async def test_a_target_is_added_refused_inline_and_deleted(
    admin: Pages, services: Services
) -> None:
    campaign = await spring(services)
    status, text, _ = await admin.get(url(campaign))
    assert status == 200 and "Add a target" in text and "Import a CSV file" in text
    status, text, _ = await admin.post(url(campaign), {"phone": "0612", "fields": ""})
    assert status == 422 and "not a phone number in international form" in text
    assert 'class="field has-error"' in text and 'value="0612"' in text
    status, text, _ = await admin.post(url(campaign), {"phone": "", "fields": ""})
    assert status == 422 and "required" in text
    status, text, _ = await admin.post(url(campaign), {"phone": "+33612345678",
                                                       "fields": "{oops"})
    assert status == 422 and "not valid JSON" in text
    status, text, _ = await admin.post(url(campaign), {"phone": "+33612345678",
                                                       "call_after": "tomorrow"})
    assert status == 422 and "a date and time such as" in text
    assert await phones(services, campaign) == []

    status, _, response = await admin.post(url(campaign), {
        "phone": "+33 6 12 34 56 78", "fields": '{"name": "Ada"}',
        "call_after": "2030-01-31T17:00"})
    assert status == 302
    assert "+33612345678 added." in await admin.follow(response)
    [target] = (await services.campaigns.list_targets(campaign.id, {}))[0]
    assert target.fields == {"name": "Ada"} and target.call_after is not None
    assert target.call_after.tzinfo is not None
    assert len(await audited(services, "campaign.target.create")) == 1

    status, text, _ = await admin.post(url(campaign), {"phone": "+33612345678"})
    assert status == 422 and "+33612345678 is already a target of &#39;spring&#39;" in text

    status, text, _ = await admin.get(url(campaign))
    assert f'{url(campaign, "/" + target.id + "/delete")}' in text
    status, _, response = await admin.post(url(campaign, f"/{target.id}/delete"))
    assert status == 302 and "+33612345678 deleted." in await admin.follow(response)
    assert await phones(services, campaign) == []
    assert len(await audited(services, "campaign.target.delete")) == 1
    status, _, response = await admin.post(url(campaign, f"/{target.id}/delete"))
    assert status == 302 and "no target with id" in await admin.follow(response)

    await services.campaigns.update(ACTOR, campaign.id, {"status": "closed"})
    status, text, _ = await admin.get(url(campaign))
    assert "The campaign is closed" in text and "Add the target" not in text
    status, text, _ = await admin.post(url(campaign), {"phone": "+33612345679"})
    assert status == 422 and "the campaign &#39;spring&#39; is closed" in text
    status, text, _ = await upload(admin, campaign, b"phone\n+33612345679\n")
    assert status == 422 and "is closed" in text
    assert await phones(services, campaign) == []


async def test_a_good_csv_file_adds_every_line(admin: Pages, services: Services) -> None:
    campaign = await spring(services)
    await services.campaigns.add(ACTOR, campaign.id, phone="+33600000000")
    await admin.get(url(campaign))
    content = ("\ufeffPhone,name,city,call_after\r\n"
               "+33 6 12 34 56 78,Ada,Paris,2030-01-31T17:00\r\n"
               "\r\n"
               '+441632960001,"Bob, Jr.",London,\r\n'
               "+15550100,Cy,,2030-01-31T17:00+00:00\r\n").encode()
    status, _, response = await upload(admin, campaign, content)
    assert status == 302
    assert "3 targets added from targets.csv." in await admin.follow(response)
    targets = {t.phone: t for t in (await services.campaigns.list_targets(campaign.id, {}))[0]}
    assert sorted(targets) == ["+15550100", "+33600000000", "+33612345678", "+441632960001"]
    assert targets["+441632960001"].fields == {"name": "Bob, Jr.", "city": "London"}
    assert targets["+441632960001"].call_after is None
    assert targets["+15550100"].call_after is not None
    [entry] = await audited(services, "campaign.target.import")
    assert entry["details"] == {"added": 3, "refused": 0}
    status, text, _ = await admin.get(url(campaign))
    assert 'data-figure="pending">4<' in text and 'data-target="+441632960001"' in text


async def test_a_csv_file_with_a_bad_line_stores_nothing(
    admin: Pages, services: Services
) -> None:
    campaign = await spring(services)
    await services.campaigns.add(ACTOR, campaign.id, phone="+33600000000")
    await admin.get(url(campaign))
    content = (b"phone,name\n"
               b"+33612345678,Ada\n"
               b"0612,Bob\n"
               b"+33 6 12 34 56 78,Ada again\n"
               b"+33600000000,Already\n"
               b"+33612345670,Cy,extra\n"
               b"+33612345671,Di\n")
    status, text, _ = await upload(admin, campaign, content)
    assert status == 422 and "targets.csv was not imported, nothing was added" in text
    assert "Line 3: not a phone number in international form: &#39;0612&#39;" in text
    assert "Line 4: +33612345678 is already on line 2" in text
    assert "Line 5: +33600000000 is already a target of &#39;spring&#39;" in text
    assert "Line 6: 3 cells where the header has 2" in text
    assert 'data-line="2"' not in text and 'data-line="7"' not in text
    assert await phones(services, campaign) == ["+33600000000"]
    assert await audited(services, "campaign.target.import") == []


async def test_unreadable_csv_files_are_refused_clearly(
    admin: Pages, services: Services, app: Quart
) -> None:
    campaign = await spring(services)
    await admin.get(url(campaign))
    too_many = "phone\n" + "".join(f"+3361234{index:04d}\n" for index in range(MAX_ROWS + 1))
    refusals = [
        ("phone,name\n+33612345678,Ad\xe8le\n".encode("latin-1"),
         "Line 2: the file is not UTF-8 text"),
        (b"", "the file is empty"),
        (b"\n \n", "the file is empty"),
        (b"name,city\nAda,Paris\n", "Line 1: the header has no phone column (it has: name, city)"),
        (b"phone,name,name\n+33612345678,A,B\n",
         "the header names the column &#39;name&#39; twice"),
        (b"phone\n", "the file has a header row but no target"),
        (b'phone,name\n+33612345678,"Ada\n', "Line 2: cannot be read as CSV"),
        (too_many.encode(), f"the file has {MAX_ROWS + 1} targets: import at most {MAX_ROWS}"),
        (b"phone\n" + b"+33612345678\n" * (MAX_BYTES // 13 + 1),
         f"the file is larger than {MAX_BYTES // 1024} KB"),
    ]
    for content, expected in refusals:
        status, text, _ = await upload(admin, campaign, content)
        assert status == 422 and expected in text, expected
        assert "nothing was added" in text
    status, text, _ = await upload(admin, campaign, b"phone\n+33612345678\n", filename="")
    assert status == 422 and "choose a CSV file to import" in text

    too_large = b"phone\n" + b"+33612345678\n" * (app.config["MAX_CONTENT_LENGTH"] // 13 + 1)
    status, _, response = await upload(admin, campaign, too_large)
    assert status == 302 and "The file is too large" in await admin.follow(response)
    assert await phones(services, campaign) == []


async def test_forms_need_the_csrf_token(admin: Pages, services: Services) -> None:
    campaign = await spring(services)
    target = await services.campaigns.add(ACTOR, campaign.id, phone="+33600000000")
    await admin.get(url(campaign))
    status, text, _ = await admin.post(url(campaign), {"phone": "+33612345678"}, csrf=False)
    assert status == 400 and "This form has expired" in text
    status, text, _ = await upload(admin, campaign, b"phone\n+33612345679\n", csrf=False)
    assert status == 400 and "This form has expired" in text
    status, text, _ = await admin.post(url(campaign, f"/{target.id}/delete"), csrf=False)
    assert status == 400 and "This form has expired" in text
    assert await phones(services, campaign) == ["+33600000000"]


async def test_changes_need_the_campaigns_edit_permission(
    app: Quart, services: Services
) -> None:
    campaign = await spring(services)
    target = await services.campaigns.add(ACTOR, campaign.id, phone="+33600000000")
    for role, permissions in (("campaign-readers", ["campaigns:read"]),
                              ("case-readers", ["cases:read"])):
        await services.accounts.create_role(ACTOR, role, permissions)
        await services.accounts.create_user(
            ACTOR, email=f"{role}@example.com", password=f"{role} password", roles=[role])
    reader = Pages(app)
    await reader.log_in("campaign-readers@example.com", "campaign-readers password")
    status, text, _ = await reader.get(url(campaign))
    assert status == 200 and 'data-target="+33600000000"' in text
    assert "Add a target" not in text and "Import a CSV file" not in text
    assert "/delete" not in text and "Edit the campaign" not in text
    status, _, _ = await reader.post(url(campaign), {"phone": "+33612345678"})
    assert status == 403
    status, _, _ = await upload(reader, campaign, b"phone\n+33612345679\n")
    assert status == 403
    status, _, _ = await reader.post(url(campaign, f"/{target.id}/delete"))
    assert status == 403
    outsider = Pages(app)
    await outsider.log_in("case-readers@example.com", "case-readers password")
    status, _, _ = await outsider.get(url(campaign))
    assert status == 403
    assert await phones(services, campaign) == ["+33600000000"]
