"""Surveys, their responses and summaries as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from admin.schemas.common import Strict
from admin.schemas.reference import Stored
from routing_core.model.reference import Description, Name
from routing_core.model.surveys import (
    DEFAULT_RETRY_TEXT,
    Question,
    QuestionKind,
    Questions,
    RetryText,
    Survey,
    SurveyResponse,
)


class SurveyIn(Strict):
    name: Name
    description: Description = ""
    questions: Questions = Field(description="Asked in order; ids name the answers.")
    retry_text: RetryText = Field(DEFAULT_RETRY_TEXT,
                                  description="Said before a question asked again.")


class SurveyPatch(Strict):
    name: Name | None = None
    description: Description | None = None
    questions: Questions | None = None
    retry_text: RetryText | None = None


class SurveyOut(Stored):
    name: str
    description: str
    questions: list[Question]
    retry_text: str

    @classmethod
    def of(cls, survey: Survey) -> SurveyOut:
        return cls.model_validate(survey.model_dump())


class SurveyList(BaseModel):
    items: list[SurveyOut]
    next: str | None


class ResponseOut(BaseModel):
    id: str
    interaction_id: str
    contact_id: str
    status: str = Field(description="completed or abandoned")
    answers: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, response: SurveyResponse) -> ResponseOut:
        return cls.model_validate(response.model_dump())


class ResponseList(BaseModel):
    items: list[ResponseOut]
    next: str | None


class QuestionSummary(BaseModel):
    id: str
    kind: QuestionKind
    text: str
    answers: int = Field(description="How many responses answer it.")
    counts: dict[str, int] | None = Field(
        None, description="Per value: 1-5, 0-10, yes/no, each choice (not for text)."
    )
    average: float | None = Field(None, description="rating and nps")
    promoters: int | None = Field(None, description="nps: 9 and 10")
    passives: int | None = Field(None, description="nps: 7 and 8")
    detractors: int | None = Field(None, description="nps: 0 to 6")
    nps: float | None = Field(None, description="% promoters - % detractors (-100 to 100)")


class ResponseCounts(BaseModel):
    total: int
    completed: int
    abandoned: int


class SummaryOut(BaseModel):
    survey_id: str
    name: str
    responses: ResponseCounts
    questions: list[QuestionSummary]
