"""Cases: list, create, read, change, delete."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.cases import CaseIn, CaseList, CaseOut, CasePatch, CaseQuery
from routing_core.model.users import permission

blueprint = Blueprint("api_cases", __name__, url_prefix="/api/cases")


@blueprint.get("")
@require(permission("cases", "read"))
@validate_querystring(CaseQuery)
@validate_response(CaseList)
async def list_cases(query_args: CaseQuery) -> CaseList:
    filters = query_args.model_dump(exclude={"cursor", "limit"})
    items, cursor = await services().cases.search(
        filters, cursor=query_args.cursor, limit=query_args.limit
    )
    return CaseList(items=[CaseOut.of(item) for item in items], next=cursor)


@blueprint.post("")
@require(permission("cases", "create"))
@validate_request(CaseIn)
@validate_response(CaseOut, 201)
async def create_case(data: CaseIn) -> tuple[CaseOut, int]:
    case = await services().cases.create(actor(), **data.model_dump())
    return CaseOut.of(case), 201


@blueprint.get("/<case_id>")
@require(permission("cases", "read"))
@validate_response(CaseOut)
async def get_case(case_id: str) -> CaseOut:
    return CaseOut.of(await services().cases.get(case_id))


@blueprint.patch("/<case_id>")
@require(permission("cases", "edit"))
@validate_request(CasePatch)
@validate_response(CaseOut)
async def update_case(case_id: str, data: CasePatch) -> CaseOut:
    changes = data.model_dump(exclude_unset=True)
    return CaseOut.of(await services().cases.update(actor(), case_id, changes))


@blueprint.delete("/<case_id>")
@require(permission("cases", "delete"))
async def delete_case(case_id: str) -> tuple[str, int]:
    await services().cases.delete(actor(), case_id)
    return "", 204
