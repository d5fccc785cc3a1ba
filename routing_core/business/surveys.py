"""Surveys: the admin API's CRUD, their answers and summaries, and the ``SurveysPort`` the
``survey`` action calls.

A summary is computed by MongoDB (one aggregation with a facet per need) over the
survey's responses, grouped by question and answer, so it costs the same for ten answers
or a million: per question the number of answers and, by kind, the counts per value, the
average (rating, NPS) and the NPS score (% promoters, 9–10, minus % detractors, 0–6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from routing_core.business.records import Kept
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, NotFound, Words
from routing_core.infra.ids import new_id
from routing_core.model.audit import Actor
from routing_core.model.surveys import (
    NPS_SCALE,
    RATING_SCALE,
    Question,
    QuestionKind,
    Survey,
    SurveyResponse,
)
from routing_core.reference.coercion import build
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE

PROMOTER_FROM, DETRACTOR_UNTIL = 9, 6


def _name_taken(name: str) -> Conflict:
    return Conflict(Words("a survey named %(name)r exists", name=name),
                    field="name", code="name_taken")


def question_summary(question: Question, counts: Mapping[Any, int], answered: int
                     ) -> dict[str, Any]:
    """The summary of one question from its answers' counts per value."""
    summary: dict[str, Any] = {"id": question.id, "kind": question.kind.value,
                               "text": question.text, "answers": answered}
    match question.kind:
        case QuestionKind.rating | QuestionKind.nps:
            scale = RATING_SCALE if question.kind is QuestionKind.rating else NPS_SCALE
            summary["counts"] = {str(value): counts.get(value, 0) for value in scale}
            total = sum(value * count for value, count in counts.items()
                        if isinstance(value, int | float))
            summary["average"] = round(total / answered, 2) if answered else None
            if question.kind is QuestionKind.nps:
                summary |= nps(counts, answered)
        case QuestionKind.yes_no:
            summary["counts"] = {"yes": counts.get(True, 0), "no": counts.get(False, 0)}
        case QuestionKind.choice:
            listed = {choice: counts.get(choice, 0) for choice in question.choices}
            others = {str(value): count for value, count in counts.items()
                      if value not in listed}  # choices renamed or removed since
            summary["counts"] = listed | others
    return summary


def nps(counts: Mapping[Any, int], answered: int) -> dict[str, Any]:
    scores = {value: count for value, count in counts.items()
              if isinstance(value, int | float) and not isinstance(value, bool)}
    promoters = sum(count for value, count in scores.items() if value >= PROMOTER_FROM)
    detractors = sum(count for value, count in scores.items() if value <= DETRACTOR_UNTIL)
    score = round(100 * (promoters - detractors) / answered, 1) if answered else None
    return {"promoters": promoters, "passives": answered - promoters - detractors,
            "detractors": detractors, "nps": score}


class Surveys(Kept[Survey]):
    kind = "survey"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.surveys, clock)
        self.answers = store.survey_answers

    async def create(self, actor: Actor, **data: Any) -> Survey:
        survey = build(Survey, data)
        try:
            return await self._create(actor, survey, name=survey.name)
        except DuplicateKeyError:
            raise _name_taken(survey.name) from None

    async def update(self, actor: Actor, survey_id: str, changes: Mapping[str, Any]) -> Survey:
        """Questions may change at any time: answers stay under their question ids."""
        current = await self.repository.get(survey_id)
        updated = self._merged(current, changes)
        try:
            return await self._save(actor, current, current.revision, updated,
                                    fields=sorted(changes))
        except DuplicateKeyError:
            raise _name_taken(updated.name) from None

    async def delete(self, actor: Actor, item_id: str) -> None:
        """The survey and its answers, together."""
        survey = await self.repository.get(item_id)

        async def work(session: AsyncClientSession) -> None:
            await self.answers.collection.delete_many({"survey_id": item_id}, session=session)
            await self.repository.delete(item_id, session=session)
            await self.store.audit.record_change(actor, "survey.delete", self.kind, item_id,
                                                 session=session, name=survey.name)

        await self.store.in_transaction(work)

    async def responses(
        self, survey_id: str, *, cursor: str | None = None, limit: int = DEFAULT_PAGE
    ) -> tuple[list[SurveyResponse], str | None]:
        await self.repository.get(survey_id)
        return await self.answers.list({"survey_id": survey_id}, cursor=cursor, limit=limit,
                                       newest_first=True)

    async def summary(self, survey_id: str) -> dict[str, Any]:
        survey = await self.repository.get(survey_id)
        counted = [question.id for question in survey.questions
                   if question.kind is not QuestionKind.text]
        pairs = [{"$project": {"pair": {"$objectToArray": "$answers"}}}, {"$unwind": "$pair"}]
        pipeline: list[dict[str, Any]] = [
            {"$match": {"survey_id": survey_id}},
            {"$facet": {
                "statuses": [{"$group": {"_id": "$status", "n": {"$sum": 1}}}],
                "answered": [*pairs, {"$group": {"_id": "$pair.k", "n": {"$sum": 1}}}],
                "values": [*pairs, {"$match": {"pair.k": {"$in": counted}}},
                           {"$group": {"_id": {"q": "$pair.k", "v": "$pair.v"},
                                       "n": {"$sum": 1}}}],
            }},
        ]
        [facets] = await (await self.answers.collection.aggregate(pipeline)).to_list()
        statuses = {row["_id"]: row["n"] for row in facets["statuses"]}
        answered = {row["_id"]: row["n"] for row in facets["answered"]}
        values: dict[str, dict[Any, int]] = {}
        for row in facets["values"]:
            values.setdefault(row["_id"]["q"], {})[row["_id"]["v"]] = row["n"]
        completed, abandoned = statuses.get("completed", 0), statuses.get("abandoned", 0)
        return {
            "survey_id": survey.id,
            "name": survey.name,
            "responses": {"total": completed + abandoned, "completed": completed,
                          "abandoned": abandoned},
            "questions": [
                question_summary(question, values.get(question.id, {}),
                                 answered.get(question.id, 0))
                for question in survey.questions
            ],
        }

    # -- for the engine (SurveysPort) ------------------------------------------------------

    async def survey(self, name: str) -> dict[str, Any]:
        found = await self.repository.find_one({"name": name})
        if found is None:
            raise NotFound(Words("no survey named %(name)r", name=name))
        return found.asked()

    async def record(
        self, *, key: str, survey_id: str, survey_name: str, interaction_id: str,
        contact_id: str, status: str, answers: dict[str, Any], at: datetime,
    ) -> None:
        response = SurveyResponse(
            key=key, survey_id=survey_id, survey_name=survey_name,
            interaction_id=interaction_id, contact_id=contact_id,
            status=status,  # type: ignore[arg-type]
            answers=answers, at=at,
        )
        document = response.to_document()
        document.pop("_id")
        await self.answers.collection.update_one(
            {"key": key}, {"$set": document, "$setOnInsert": {"_id": new_id()}}, upsert=True
        )
