"""Surveys and their answers."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.model.surveys import Survey, SurveyResponse
from routing_core.store.repository import Repository


class SurveyRepository(Repository[Survey]):
    collection_name = "surveys"
    record = Survey
    label = "survey"
    INDEXES = [IndexModel([("name", ASCENDING)], unique=True, name="unique_name")]


class SurveyAnswerRepository(Repository[SurveyResponse]):
    """One document per answering conversation (unique per step ``key``); summaries
    aggregate a survey's documents, listed newest first."""

    collection_name = "survey_answers"
    record = SurveyResponse
    label = "survey response"
    INDEXES = [
        IndexModel([("survey_id", ASCENDING), ("_id", DESCENDING)], name="by_survey"),
        IndexModel([("key", ASCENDING)], unique=True, name="unique_key"),
        IndexModel([("interaction_id", ASCENDING)], name="by_interaction"),
    ]
