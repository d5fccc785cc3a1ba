"""The cases, CRM, tasks, campaigns and surveys pages through the test client: list,
create, edit, the survey summary's figures, CSRF and permissions."""

from __future__ import annotations

import re

from quart import Quart

from routing_core.infra.clock import utcnow
from routing_core.services import Services
from tests.integration.test_admin_pages import ACTOR, Pages, admin
from tests.integration.test_admin_reference_pages import post_multi

__all__ = ["admin"]

QUESTIONS = ("mood | rating | How was it?\nscore | nps | Would you recommend us?\n"
             "solved | yes_no | Was it solved?\nwhy | choice | Why? | price, service")


def figure(text: str, name: str, question: str | None = None) -> str:
    if question is not None:
        text = text.split(f'data-question="{question}"', 1)[1].split("</section>", 1)[0]
    found = re.search(rf'data-figure="{name}">([^<]*)<', text)
    assert found, name
    return found.group(1)


async def test_survey_summary_shows_the_services_figures(
    admin: Pages, services: Services
) -> None:
    await admin.get("/admin/surveys/new")
    status, text, _ = await admin.post("/admin/surveys/new", {
        "name": "csat", "questions": "why | choice | Why? | price", "retry_text": "Sorry?"})
    assert status == 422 and "at least 2 choices" in text and 'class="field has-error"' in text
    status, _, _ = await admin.post("/admin/surveys/new", {
        "name": "csat", "questions": QUESTIONS, "retry_text": "Sorry?"})
    assert status == 302
    [survey] = await services.store.surveys.all()
    assert [q.kind.value for q in survey.questions] == ["rating", "nps", "yes_no", "choice"]
    status, text, _ = await admin.get(f"/admin/surveys/{survey.id}")
    assert "why | choice | Why? | price, service" in text
    answers = [({"mood": 5, "score": 10, "solved": True, "why": "price"}, "completed"),
               ({"mood": 4, "score": 9, "solved": True, "why": "service"}, "completed"),
               ({"mood": 1, "score": 3, "solved": False}, "completed"),
               ({"mood": 2}, "abandoned")]
    for number, (given, state) in enumerate(answers):
        await services.surveys.record(
            key=f"step-{number}", survey_id=survey.id, survey_name="csat",
            interaction_id=f"i{number}", contact_id=f"c{number}", status=state,
            answers=given, at=utcnow())
    status, text, _ = await admin.get("/admin/surveys")
    assert status == 200 and "csat" in text and f"/admin/surveys/{survey.id}/summary" in text
    status, text, _ = await admin.get(f"/admin/surveys/{survey.id}/summary")
    assert status == 200
    assert (figure(text, "total"), figure(text, "completed"), figure(text, "abandoned")) == (
        "4", "3", "1")
    assert figure(text, "answers", "mood") == "4" and figure(text, "average", "mood") == "3.0"
    assert figure(text, "nps", "score") == "33.3"  # 2 promoters, 1 detractor of 3
    assert figure(text, "promoters", "score") == "2"
    assert figure(text, "detractors", "score") == "1"
    assert figure(text, "average", "score") == "7.33"
    assert 'data-value="price"><td>price</td><td>1</td>' in text
    status, _, _ = await admin.post(f"/admin/surveys/{survey.id}", {
        "name": "csat-2", "questions": QUESTIONS, "retry_text": "Sorry?"})
    assert status == 302 and (await services.surveys.get(survey.id)).name == "csat-2"


async def test_cases_are_listed_filtered_opened_edited_and_closed(
    admin: Pages, services: Services
) -> None:
    await admin.get("/admin/cases/new")
    status, text, _ = await admin.post("/admin/cases/new", {
        "title": "Broken parcel", "status": "open", "priority": "high", "fields": "{oops"})
    assert status == 422 and "not valid JSON" in text and "Broken parcel" in text
    status, _, _ = await admin.post("/admin/cases/new", {
        "title": "Broken parcel", "status": "open", "priority": "high",
        "fields": '{"order": "A-12", "amount": 30}', "contact_id": "", "interaction_ids": "i-1"})
    assert status == 302
    await services.cases.create(ACTOR, title="Late refund", priority="low")
    [case] = [c for c in (await services.cases.search({}))[0] if c.title == "Broken parcel"]
    assert case.fields == {"order": "A-12", "amount": 30} and case.interaction_ids == ["i-1"]
    status, text, _ = await admin.get("/admin/cases")
    assert "Broken parcel" in text and "Late refund" in text and "CASE-000001" in text
    status, text, _ = await admin.get("/admin/cases?priority=high&status=")
    assert "Broken parcel" in text and "Late refund" not in text
    assert '<option value="high" selected>' in text
    status, text, _ = await admin.get(f"/admin/cases/{case.id}/view")
    assert status == 200 and "A-12" in text and "i-1" in text and "Close the case" in text
    status, text, _ = await admin.post(f"/admin/cases/{case.id}", {
        "title": "", "status": "pending", "priority": "high", "fields": "{}"})
    assert status == 422 and 'class="field has-error"' in text
    status, _, _ = await admin.post(f"/admin/cases/{case.id}", {
        "title": "Broken parcel", "status": "pending", "priority": "urgent",
        "fields": '{"order": "A-13"}', "interaction_ids": "i-1\ni-2"})
    assert status == 302
    saved = await services.cases.get(case.id)
    assert saved.priority.value == "urgent" and saved.interaction_ids == ["i-1", "i-2"]
    status, _, _ = await admin.post(f"/admin/cases/{case.id}/close")
    assert status == 302
    closed = await services.cases.get(case.id)
    assert closed.status.value == "closed" and closed.closed_at is not None
    status, text, _ = await admin.get(f"/admin/cases/{case.id}/view")
    assert "Close the case" not in text and "since" in text


async def test_crm_cards_are_searched_by_any_field(admin: Pages, services: Services) -> None:
    await admin.get("/admin/crm/cards/new")
    status, _, _ = await admin.post("/admin/crm/cards/new", {
        "fields": '{"name": "Ada", "phone": "+33612345678", "points": 120}'})
    assert status == 302
    await services.crm.cards.create(ACTOR, {"name": "Bob", "phone": "+33700000000"})
    status, text, _ = await admin.get("/admin/crm/cards?field=points&value=120")
    assert "Ada" in text and "Bob" not in text
    status, text, _ = await admin.get("/admin/crm/cards")
    assert "Ada" in text and "Bob" in text
    [card] = (await services.crm.cards.search({"name": "Ada"}))[0]
    status, text, _ = await admin.post(f"/admin/crm/cards/{card.id}", {
        "fields": '{"name": "Ada", "bad name!": 1}'})
    assert status == 422 and 'class="field has-error"' in text
    status, _, _ = await admin.post(f"/admin/crm/cards/{card.id}", {
        "fields": '{"name": "Ada", "points": 150}'})
    assert status == 302
    assert (await services.crm.cards.get(card.id)).fields == {"name": "Ada", "points": 150}
    await admin.post(f"/admin/crm/cards/{card.id}/delete")
    assert len((await services.crm.cards.search({}))[0]) == 1


async def test_tasks_are_listed_by_status_and_completed(admin: Pages, services: Services) -> None:
    await admin.get("/admin/tasks/new")
    status, text, _ = await admin.post("/admin/tasks/new", {
        "title": "Call back", "assignee_kind": "queue", "assignee_ref": "",
        "due_at": "2030-01-31T17:00", "status": "open"})
    assert status == 422 and "the queue the task is for" in text
    status, _, _ = await admin.post("/admin/tasks/new", {
        "title": "Call back", "assignee_kind": "queue", "assignee_ref": "support",
        "due_at": "2030-01-31T17:00", "status": "open"})
    assert status == 302
    await services.tasks.create(ACTOR, title="Old one", status="done")
    [task] = (await services.tasks.search({"status": "open"}))[0]
    assert task.assignee is not None and task.assignee.ref == "support" and task.due_at
    status, text, _ = await admin.get("/admin/tasks?status=open")
    assert "Call back" in text and "Old one" not in text
    status, text, _ = await admin.get("/admin/tasks?assignee=support")
    assert "Call back" in text and "Old one" not in text
    status, text, _ = await admin.get(f"/admin/tasks/{task.id}")
    assert 'value="2030-01-31T17:00"' in text
    status, _, _ = await admin.post(f"/admin/tasks/{task.id}/complete")
    assert status == 302
    done = await services.tasks.get(task.id)
    assert done.status.value == "done" and done.closed_at is not None


async def test_campaigns_status_and_target_counts(admin: Pages, services: Services) -> None:
    await admin.get("/admin/campaigns/new")
    form = [("name", "spring"), ("kind", "sms"), ("status", "running"), ("message", ""),
            ("window.start", "09:00"), ("window.end", "19:00"), ("window.timezone", "UTC"),
            ("window.days", "monday"), ("window.days", "tuesday"), ("rate_per_minute", "30"),
            ("max_attempts", "3")]
    status, text, _ = await post_multi(admin, "/admin/campaigns/new", form)
    assert status == 409 and "give the campaign a message" in text
    form[2:4] = [("status", "draft"), ("message", "Hello {{ target.fields.name }}")]
    status, _, _ = await post_multi(admin, "/admin/campaigns/new", form)
    assert status == 302
    [campaign] = await services.store.campaigns.all()
    assert campaign.window.days == ["monday", "tuesday"] and campaign.rate_per_minute == 30
    await services.campaigns.add(ACTOR, campaign.id, phone="+33612345678", fields={"name": "A"})
    await services.campaigns.add(ACTOR, campaign.id, phone="+33612345679")
    status, text, _ = await admin.get(f"/admin/campaigns/{campaign.id}/targets")
    assert status == 200 and figure(text, "total") == "2" and figure(text, "pending") == "2"
    assert figure(text, "sent") == "0" and "+33612345678" in text
    status, text, _ = await admin.get(f"/admin/campaigns/{campaign.id}/targets?status=sent")
    assert status == 200 and "No target sent" in text and figure(text, "total") == "2"
    edit = [pair for pair in form if pair[0] != "kind"]
    edit[1] = ("status", "running")
    status, _, _ = await post_multi(admin, f"/admin/campaigns/{campaign.id}", edit)
    assert status == 302
    assert (await services.campaigns.get(campaign.id)).status.value == "running"
    status, text, _ = await admin.get("/admin/campaigns?status=running")
    assert "spring" in text
    status, text, _ = await admin.get("/admin/campaigns?status=closed")
    assert "spring" not in text
    edit[1] = ("status", "draft")
    status, text, _ = await post_multi(admin, f"/admin/campaigns/{campaign.id}", edit)
    assert status == 409 and "cannot become draft" in text


async def test_forms_need_the_csrf_token(admin: Pages, services: Services) -> None:
    await admin.get("/admin/cases/new")
    for path in ("/admin/cases/new", "/admin/crm/cards/new", "/admin/tasks/new",
                 "/admin/campaigns/new", "/admin/surveys/new"):
        status, text, _ = await admin.post(path, {"title": "x"}, csrf=False)
        assert status == 400 and "This form has expired" in text, path
    assert (await services.cases.search({}))[0] == []


async def test_pages_need_their_permission(app: Quart, services: Services) -> None:
    await services.accounts.create_role(ACTOR, "case-readers", ["cases:read"])
    await services.accounts.create_user(
        ACTOR, email="cases@example.com", password="cases password", roles=["case-readers"])
    case = await services.cases.create(ACTOR, title="Broken parcel")
    pages = Pages(app)
    await pages.log_in("cases@example.com", "cases password")
    status, text, _ = await pages.get("/admin/cases")
    assert status == 200 and "Broken parcel" in text and "Cases &amp; CRM" in text
    assert "New case" not in text and "/admin/surveys" not in text
    status, text, _ = await pages.get(f"/admin/cases/{case.id}/view")
    assert status == 200 and "Close the case" not in text
    for path in ("/admin/cases/new", f"/admin/cases/{case.id}", "/admin/surveys",
                 "/admin/crm/cards", "/admin/tasks", "/admin/campaigns"):
        status, _, _ = await pages.get(path)
        assert status == 403, path
    status, _, _ = await pages.post(f"/admin/cases/{case.id}/close")
    assert status == 403 and (await services.cases.get(case.id)).status.value == "open"
