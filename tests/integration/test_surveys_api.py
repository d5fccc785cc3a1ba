"""Surveys through the JSON API: definitions, responses, summaries."""

from __future__ import annotations

from typing import Any

from routing_core.infra.clock import utcnow
from tests.conftest import Api
from tests.integration.builders import ok, refused

CSAT = {
    "name": "csat",
    "questions": [
        {"id": "rating", "kind": "rating", "text": "How would you rate us?"},
        {"id": "nps", "kind": "nps", "text": "Would you recommend us (0-10)?"},
        {"id": "again", "kind": "yes_no", "text": "Would you come back?"},
        {"id": "source", "kind": "choice", "text": "How did you find us?",
         "choices": ["Search", "A friend"]},
        {"id": "comment", "kind": "text", "text": "Anything else?"},
    ],
}


async def answer(services, survey: dict[str, Any], number: int, status: str = "completed",
                 **answers: Any) -> None:
    await services.surveys.record(
        key=f"i-{number}:survey:1", survey_id=survey["id"], survey_name=survey["name"],
        interaction_id=f"i-{number}", contact_id=f"c-{number}", status=status,
        answers=answers, at=utcnow(),
    )


async def test_a_summary_counts_averages_and_scores(api: Api, services):
    survey = ok(await api.post("/api/surveys", json=CSAT), 201)
    await answer(services, survey, 1, rating=5, nps=10, again=True, source="Search",
                 comment="Great")
    await answer(services, survey, 2, rating=4, nps=9, again=True, source="A friend")
    await answer(services, survey, 3, rating=2, nps=3, again=False, source="Search")
    await answer(services, survey, 4, "abandoned", rating=1, nps=7)
    await answer(services, survey, 4, "abandoned", rating=1, nps=8)  # a replay replaces
    summary = ok(await api.get(f"/api/surveys/{survey['id']}/summary"))
    assert summary["responses"] == {"total": 4, "completed": 3, "abandoned": 1}
    rating, nps, again, source, comment = summary["questions"]
    assert rating["counts"] == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1}
    assert (rating["answers"], rating["average"]) == (4, 3.0)
    assert nps["counts"]["10"] == 1 and nps["average"] == 7.5
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["nps"]) == (2, 1, 1, 25.0)
    assert again["counts"] == {"yes": 2, "no": 1}
    assert source["counts"] == {"Search": 2, "A friend": 1}
    assert comment["answers"] == 1 and comment["counts"] is None
    responses = ok(await api.get(f"/api/surveys/{survey['id']}/answers"))
    assert [item["interaction_id"] for item in responses["items"]] == ["i-4", "i-3", "i-2",
                                                                      "i-1"]
    assert responses["items"][0]["answers"] == {"rating": 1, "nps": 8}


async def test_an_empty_summary_and_a_changed_survey(api: Api, services):
    survey = ok(await api.post("/api/surveys", json=CSAT), 201)
    summary = ok(await api.get(f"/api/surveys/{survey['id']}/summary"))
    assert summary["responses"]["total"] == 0
    assert summary["questions"][1]["nps"] is None and summary["questions"][0]["average"] is None
    await answer(services, survey, 1, source="Search")
    changed = ok(await api.patch(f"/api/surveys/{survey['id']}", json={"questions": [
        {"id": "source", "kind": "choice", "text": "Where from?", "choices": ["Web", "Shop"]}]}))
    assert changed["revision"] == 1
    summary = ok(await api.get(f"/api/surveys/{survey['id']}/summary"))
    assert summary["questions"][0]["counts"] == {"Web": 0, "Shop": 0, "Search": 1}
    assert (await api.delete(f"/api/surveys/{survey['id']}")).status_code == 204
    assert await services.store.survey_answers.all({}) == []


async def test_bad_surveys_are_refused(api: Api):
    def with_questions(*questions: dict[str, Any]) -> dict[str, Any]:
        return {"name": "bad", "questions": list(questions)}

    refused(await api.post("/api/surveys", json=with_questions()), 422, "invalid", "questions")
    refused(await api.post("/api/surveys", json=with_questions(
        {"id": "q", "kind": "stars", "text": "?"})), 422, "invalid", "questions.0.kind")
    refused(await api.post("/api/surveys", json=with_questions(
        {"id": "q", "kind": "choice", "text": "?", "choices": ["only"]})), 422, "invalid",
        "questions.0")
    refused(await api.post("/api/surveys", json=with_questions(
        {"id": "q", "kind": "rating", "text": "?", "choices": ["1"]})), 422, "invalid")
    refused(await api.post("/api/surveys", json=with_questions(
        {"id": "q", "kind": "text", "text": "?"}, {"id": "q", "kind": "text", "text": "!"})),
        422, "invalid", "questions")
    refused(await api.post("/api/surveys", json=with_questions(
        {"id": "a.b", "kind": "text", "text": "?"})), 422, "invalid", "questions.0.id")
    ok(await api.post("/api/surveys", json=CSAT), 201)
    refused(await api.post("/api/surveys", json=CSAT), 409, "name_taken", "name")
    refused(await api.get("/api/surveys/nope/summary"), 404, "not_found")
