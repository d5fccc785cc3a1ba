"""Surveys: CRUD, the responses of each, and their summary."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.surveys import (
    ResponseList,
    ResponseOut,
    SummaryOut,
    SurveyIn,
    SurveyList,
    SurveyOut,
    SurveyPatch,
)
from routing_core.model.users import permission

blueprint = Blueprint("api_surveys", __name__, url_prefix="/api/surveys")


@blueprint.get("")
@require(permission("surveys", "read"))
@validate_querystring(PageQuery)
@validate_response(SurveyList)
async def list_surveys(query_args: PageQuery) -> SurveyList:
    items, cursor = await services().store.surveys.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return SurveyList(items=[SurveyOut.of(item) for item in items], next=cursor)


@blueprint.post("")
@require(permission("surveys", "create"))
@validate_request(SurveyIn)
@validate_response(SurveyOut, 201)
async def create_survey(data: SurveyIn) -> tuple[SurveyOut, int]:
    survey = await services().surveys.create(actor(), **data.model_dump())
    return SurveyOut.of(survey), 201


@blueprint.get("/<survey_id>")
@require(permission("surveys", "read"))
@validate_response(SurveyOut)
async def get_survey(survey_id: str) -> SurveyOut:
    return SurveyOut.of(await services().surveys.get(survey_id))


@blueprint.patch("/<survey_id>")
@require(permission("surveys", "edit"))
@validate_request(SurveyPatch)
@validate_response(SurveyOut)
async def update_survey(survey_id: str, data: SurveyPatch) -> SurveyOut:
    changes = data.model_dump(exclude_unset=True)
    return SurveyOut.of(await services().surveys.update(actor(), survey_id, changes))


@blueprint.delete("/<survey_id>")
@require(permission("surveys", "delete"))
async def delete_survey(survey_id: str) -> tuple[str, int]:
    """The survey and its answers."""
    await services().surveys.delete(actor(), survey_id)
    return "", 204


@blueprint.get("/<survey_id>/answers")
@require(permission("surveys", "read"))
@validate_querystring(PageQuery)
@validate_response(ResponseList)
async def list_answers(survey_id: str, query_args: PageQuery) -> ResponseList:
    """Each conversation's answers, newest first."""
    items, cursor = await services().surveys.responses(
        survey_id, cursor=query_args.cursor, limit=query_args.limit
    )
    return ResponseList(items=[ResponseOut.of(item) for item in items], next=cursor)


@blueprint.get("/<survey_id>/summary")
@require(permission("surveys", "read"))
@validate_response(SummaryOut)
async def summary(survey_id: str) -> SummaryOut:
    return SummaryOut.model_validate(await services().surveys.summary(survey_id))
