"""Every page of the panel, and every form on it, given bad input: the answer is a page
with sentences — never a server error, a traceback or a validation library's dump.

The panel is crawled from its home page as an admin sees it, over a database holding one
record of each kind (so that every edit form exists); each form found is posted twice,
once with its text emptied and once with hostile values (far too long, not a number, not
a date, an option that does not exist, a template that does not parse); each filter form
is sent the same way.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from quart import Quart
from werkzeug.datastructures import MultiDict

from routing_core.model.audit import SYSTEM
from routing_core.services import Services
from tests.integration.test_admin_pages import Pages, admin, routing_with_version  # noqa: F401
from tests.support.html_forms import form_values
from tests.support.routings import webchat_entry_point

# what a person must never read on a page
DUMPS = re.compile(
    r"validation errors? for|input_value|input_type|type=[a-z_]+|errors\.pydantic\.dev|"
    r"Traceback \(most recent|Value error,|Field required|\{'type': '|"
    r"Internal Server Error|Unexpected error|Input should be|String should have|"
    r"should be a valid|List should have|Value should have", re.I)
# forms whose posting would end the session or destroy what the crawl still needs
SKIPPED_ACTIONS = re.compile(r"/logout|/delete$|/discard|/end$|/close$|/revoke")
MAX_PAGES = 400


def hostile(name: str, value: str) -> str:
    """A bad value for an input, by what the input looks like it takes."""
    lowered = name.lower()
    if name in ("csrf_token", "revision", "next"):
        return value
    if any(word in lowered for word in ("date", "since", "before", "from", "to", "_at", "at")):
        return "31/31/2031 25:61"
    if any(word in lowered for word in ("capacity", "percent", "seconds", "priority", "max",
                                        "limit", "count", "share", "number", "retries")):
        return "not a number"
    if value and not value.strip().isdigit() and len(value) < 40 and " " not in value:
        return "no-such-option-" + value  # a select's value that does not exist
    return "{{ unclosed " + "x" * 5000


async def seeded(services: Services, app: Quart) -> None:
    """One record of each kind the panel edits."""
    routing, version = await routing_with_version(services, actions=2)
    await webchat_entry_point(services, routing.id)
    await services.variables.create(SYSTEM, name="opening", type="text", value="9:00")
    await services.value_tables.create(SYSTEM, name="agencies", columns=["city", "phone"],
                                       rows=[{"city": "Paris", "phone": "+33100000000"}])
    await services.databases.create(SYSTEM, name="customers",
                                    fields=[{"name": "email", "type": "text"}])
    await services.schedules.create(SYSTEM, name="office")
    await app.extensions["distribution"].queues.create(SYSTEM, name="Support")
    await services.campaigns.create(SYSTEM, name="promo", kind="sms", message="Hi")
    await services.cases.create(SYSTEM, title="Broken kettle")
    await services.tasks.create(SYSTEM, title="Call back")
    await services.surveys.create(SYSTEM, name="satisfaction", questions=[
        {"id": "q1", "text": "Rate us", "kind": "rating"}])
    await services.crm.cards.create(SYSTEM, {"name": "Ada"})
    crm_type = await services.crm.types.create(SYSTEM, name="order", fields=[
        {"name": "number", "type": "text"}])
    await services.crm.objects.create(SYSTEM, crm_type.id, {"number": "A-1"})
    await services.accounts.create_role(SYSTEM, "readers", ["smart_routings:read"])
    await services.accounts.create_user(SYSTEM, email="agent@example.com",
                                        password="a long password", roles=["readers"])


def links_of(html: str) -> set[str]:
    found = set()
    for href in re.findall(r'href="(/admin[^"#]*)"', html):
        path = href.replace("&amp;", "&")
        if not re.search(r"/logout|/export|\.csv|/download|/static/", path):
            found.add(path)
    return found


def forms_of(html: str) -> list[tuple[str, str]]:
    """(method, action) of each form on the page."""
    forms = []
    for attributes in re.findall(r"<form\b([^>]*)>", html):
        method = re.search(r'method="(\w+)"', attributes)
        action = re.search(r'action="([^"]*)"', attributes)
        forms.append(((method.group(1).lower() if method else "get"),
                      (action.group(1).replace("&amp;", "&") if action else "")))
    return forms


SHOWN_ERRORS: set[str] = set()


def no_dump(text: str, where: str) -> None:
    for message in re.findall(r'class="(?:field-error|flash flash-error)"[^>]*>([^<]*)</', text):
        SHOWN_ERRORS.add(message.strip())
        assert message.strip(), f"{where} shows an empty error"
    found = DUMPS.search(text)
    assert found is None, f"{where} shows {found.group(0)!r}: " + text[
        max(0, found.start() - 200): found.end() + 200]


async def test_every_page_answers_bad_input_with_sentences(
    admin: Pages, services: Services, app: Quart,  # noqa: F811
) -> None:
    await seeded(services, app)
    seen: set[str] = set()
    pending = ["/admin/"]
    posted = 0
    while pending and len(seen) < MAX_PAGES:
        path = pending.pop(0)
        shape = re.sub(r"/[0-9a-f]{8,}|/a_[0-9a-f]{10}|/\d+", "/ID", urlsplit(path).path)
        shape += "?" + "&".join(sorted(key for key in re.findall(r"[?&](\w+)=", path)))
        if shape in seen:
            continue
        seen.add(shape)
        status, html, _ = await admin.get(path)
        assert status < 500, f"GET {path}: {status}"
        no_dump(html, f"GET {path}")
        pending += sorted(links_of(html) - set(pending))
        for method, action in forms_of(html):
            target = action or urlsplit(path).path
            if not target.startswith("/admin") or SKIPPED_ACTIONS.search(target):
                continue
            values = form_values(html, action or None)
            for emptied in (True, False):
                bad: MultiDict[str, str] = MultiDict()
                for name, value in values.items(multi=True):
                    bad.add(name, value if name in ("csrf_token", "revision") else
                            ("" if emptied else hostile(name, value)))
                query = urlencode(list(bad.items(multi=True)))
                if method == "get":
                    status, text, response = await admin.get(f"{target}?{query}")
                else:
                    await admin.get(path)  # a fresh CSRF token, as a browser has
                    bad["csrf_token"] = admin.csrf
                    status, text, response = await admin.post(target, bad.to_dict())
                    posted += 1
                where = f"{method.upper()} {target} ({'emptied' if emptied else 'hostile'})"
                assert status < 500, f"{where}: {status}"
                if status in (301, 302, 303):  # the page it leads to, with its flash
                    text = await admin.follow(response)
                no_dump(text, where)
    assert "" not in SHOWN_ERRORS  # every error shown says something
    too_long = [message[:80] for message in SHOWN_ERRORS if len(message) > 400]
    assert too_long == [], "errors that bury their sentence under the value typed"
    assert len(seen) > 40 and posted > 40, (len(seen), posted)  # the crawl reached the panel
