"""Surveys (satisfaction, NPS…): their questions, and the answers of each conversation.

The ``survey`` action asks the questions one by one; each conversation's answers are one
``SurveyResponse`` in ``survey_answers`` (completed, or abandoned when the contact stopped
answering), unique per interaction step so a replay rewrites rather than duplicates.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from routing_core.infra.clock import utcnow
from routing_core.model.base import Record, Timestamped
from routing_core.model.reference import Description, Identifier, Name, invalid

QuestionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=1_000)]
ChoiceLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=64)]
RATING_SCALE = range(1, 6)
NPS_SCALE = range(0, 11)


class QuestionKind(StrEnum):
    rating = "rating"  # 1 to 5
    nps = "nps"  # 0 to 10: "how likely are you to recommend us?"
    yes_no = "yes_no"
    choice = "choice"
    text = "text"


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    kind: QuestionKind
    text: QuestionText
    choices: Annotated[list[ChoiceLabel], Field(max_length=10)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _choices_for_choice(self) -> Self:
        if self.kind is QuestionKind.choice:
            if len(self.choices) < 2:
                raise invalid("a choice question offers at least 2 choices")
            if len({choice.casefold() for choice in self.choices}) != len(self.choices):
                raise invalid("a choice appears twice")
        elif self.choices:
            raise invalid("only a choice question has choices")
        return self


def _distinct_ids(questions: list[Question]) -> list[Question]:
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise invalid(f"the question id {question.id!r} is used twice")
        seen.add(question.id)
    return questions


Questions = Annotated[
    list[Question], Field(min_length=1, max_length=30), AfterValidator(_distinct_ids)
]
RetryText = Annotated[str, StringConstraints(max_length=1_000)]
DEFAULT_RETRY_TEXT = "Sorry, I did not understand that answer."


class Survey(Timestamped):
    """``retry_text`` precedes the question asked again after an answer that does not fit."""

    name: Name
    description: Description = ""
    questions: Questions
    retry_text: RetryText = DEFAULT_RETRY_TEXT
    revision: int = 0

    def asked(self) -> dict[str, Any]:
        """What the action keeps while it asks (questions do not change under it)."""
        return {"id": self.id, "name": self.name, "retry_text": self.retry_text,
                "questions": [question.model_dump(mode="json") for question in self.questions]}


class SurveyResponse(Record):
    """One conversation's answers: ``{question id: answer}`` (a number for rating and NPS,
    a boolean for yes/no, the choice's label, the text)."""

    key: str  # the interaction step that asked: a replayed step replaces its answers
    survey_id: str
    survey_name: str
    interaction_id: str
    contact_id: str
    status: Literal["completed", "abandoned"]
    answers: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=utcnow)


class SurveysPort(Protocol):
    async def survey(self, name: str) -> dict[str, Any]:
        """``Survey.asked()`` of the named survey; NotFound when there is none."""
        ...

    async def record(
        self, *, key: str, survey_id: str, survey_name: str, interaction_id: str,
        contact_id: str, status: str, answers: dict[str, Any], at: datetime,
    ) -> None:
        """Store (or, for the same key, replace) a conversation's answers."""
        ...
