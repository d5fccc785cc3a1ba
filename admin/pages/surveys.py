"""Campaigns & surveys > Surveys: questions edited one per line, and each survey's summary.

A question line is ``id | kind | text`` (``| choice, choice`` for a choice question); the
``Survey`` model checks kinds, ids and choices. The summary page shows what
``Surveys.summary`` computes (counts, averages, NPS score); nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

from quart import url_for

from admin.context import require, services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from admin.pages.views import page
from routing_core.infra.errors import Invalid, Words
from routing_core.model.surveys import QuestionKind, Survey

SECTION = "Campaigns & surveys"
KINDS = ", ".join(kind.value for kind in QuestionKind)


def _questions(text: str) -> list[dict[str, Any]]:
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (3, 4):
            raise Invalid(Words(
                "line %(number)s: write 'id | kind | text' (then '| choices' for a choice "
                "question)",
                number=number), field="questions")
        question: dict[str, Any] = {"id": parts[0], "kind": parts[1], "text": parts[2]}
        if len(parts) == 4:
            question["choices"] = [c.strip() for c in parts[3].split(",") if c.strip()]
        questions.append(question)
    return questions


def questions_text(survey: Survey) -> str:
    lines = []
    for question in survey.questions:
        line = f"{question.id} | {question.kind.value} | {question.text}"
        lines.append(line + (f" | {', '.join(question.choices)}" if question.choices else ""))
    return "\n".join(lines)


def _read(form: Any, item: Survey | None) -> dict[str, Any]:
    return {"name": form.text("name"), "description": form.raw("description"),
            "retry_text": form.raw("retry_text"), "questions": _questions(form.raw("questions"))}


async def _fields(item: Survey | None) -> list[Field]:
    return [
        Field("name", phrase("Name"), required=True,
              help=phrase("The survey action asks it by this name.")),
        Field("description", phrase("Description"), "textarea"),
        Field("questions", phrase("Questions"), "textarea", rows=8, required=True,
              help=phrase("One per line: 'id | kind | text', kinds: %(kinds)s. A choice question "
                          "ends with '| first, second, third'.", kinds=KINDS)),
        Field("retry_text", phrase("Said before asking again"),
              help=phrase("After an answer that does not fit the question.")),
    ]


def _values(item: Survey) -> dict[str, Any]:
    return {"name": item.name, "description": item.description,
            "retry_text": item.retry_text, "questions": questions_text(item)}


resource = Resource(
    key="surveys", url="/surveys", title="Surveys", singular="survey", section=SECTION,
    load_all=lambda: services().store.surveys.all(),  # noqa: PLW0108
    load=lambda item_id: services().surveys.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values,
    create=lambda who, values: services().surveys.create(who, **values),
    update=lambda who, item_id, values: services().surveys.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().surveys.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Questions", lambda item: str(len(item.questions))),
        Column("Kinds", lambda item: ", ".join(q.kind.value for q in item.questions)),
        Column("Description", lambda item: item.description),
    ],
    read_form=_read,
    describe=marked("A survey asks its questions in a conversation (the survey action); its "
                    "answers are summarised here."),
    extra_links=lambda item: [
        (phrase("Summary"), url_for("pages.surveys.summary", item_id=item.id))],
)
blueprint = resource.blueprint


@blueprint.get("/<item_id>/summary")
@require("surveys:read")
async def summary(item_id: str) -> Any:
    survey = await services().surveys.get(item_id)
    return await page("surveys/summary.html", active_nav="surveys", survey=survey,
                      summary=await services().surveys.summary(item_id))
