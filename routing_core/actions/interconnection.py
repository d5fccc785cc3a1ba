"""Actions that reach other systems over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import (
    Retries,
    Template,
    VariableName,
    check_template,
    invalid,
    matching,
)
from routing_core.actions.support import http_port, storable
from routing_core.expressions import jsonpath
from routing_core.ports.world import HttpFailure, HttpPort, HttpRefused, HttpResponse

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

# Pause before retry k (k = 1, 2…): k times this; a failing API gets a moment to recover.
RETRY_BACKOFF_SECONDS = 0.25

# An HTTP header name (an RFC 9110 token).
HeaderName = Annotated[
    str, matching(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}", "not a valid HTTP header name")
]


def _check_json_path(path: str) -> str:
    try:
        jsonpath.parse(path)
    except jsonpath.JsonPathError as error:
        raise invalid(str(error)) from None
    return path


# Where a value sits in the JSON response, e.g. ``$.data.items[0].id`` (see engine.jsonpath).
JsonPath = Annotated[
    str,
    matching(r"\$\S{0,199}", "a JSON path starts with '$' and has no spaces, e.g. $.data.id"),
    AfterValidator(_check_json_path),
]


def _check_url(url: str) -> str:
    """A URL is absolute, unless it starts with a template expression (e.g. a base URL)."""
    if not url.startswith(("http://", "https://", "{{")):
        raise invalid("the URL starts with http://, https:// or a {{ }} expression")
    return url


Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2_000),
    AfterValidator(check_template),
    AfterValidator(_check_url),
]


RECORDED_BODY_BYTES = 16_384


@register
class WebService(ActionType):
    """Calls an HTTP API and maps values of its JSON answer into variables."""

    type = "web_service"
    title = "Web service"
    branches = ("success", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
        url: Url
        headers: dict[HeaderName, Template] = {}
        body: Template = ""
        timeout_seconds: Annotated[int, Field(ge=1, le=30)] = 10
        retries: Retries = 0
        into: dict[VariableName, JsonPath] = {}

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        """``ws.status`` and ``ws.error`` tell what happened, on either branch."""
        http = http_port(ctx)
        headers = {name: ctx.render(value) for name, value in params.headers.items()}
        body = ctx.render(params.body) if params.body else ""
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = _content_type(body)
        url = ctx.render(params.url).strip()
        try:
            response = await _call(http, params, url, headers, body.encode() or None)
        except (HttpFailure, HttpRefused) as error:
            ctx.emit("web_service", method=params.method, url=url, status=None,
                     error=str(error) or type(error).__name__)
            return _outcome(ctx, None, str(error) or type(error).__name__)
        # what it got, kept with the conversation: a regression replay answers from it
        ctx.emit("web_service", method=params.method, url=url, status=response.status,
                 body=response.body[:RECORDED_BODY_BYTES].decode("utf-8", "replace"))
        if not 200 <= response.status < 300:
            return _outcome(ctx, response.status, f"HTTP status {response.status}")
        if params.into:
            try:
                document = json.loads(response.body)
            except (ValueError, UnicodeDecodeError):
                return _outcome(ctx, response.status, "the answer is not JSON")
            for variable, path in params.into.items():
                ctx.set_variable(variable, storable(jsonpath.extract(document, path)))
        return _outcome(ctx, response.status, None)


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


async def _call(
    http: HttpPort, params: WebService.Params, url: str, headers: dict[str, str],
    body: bytes | None,
) -> HttpResponse:
    """Retries network failures and 5xx answers only; a refused address is never retried."""
    attempts = params.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            response = await http.request(
                params.method, url, headers=headers, body=body,
                timeout_seconds=params.timeout_seconds,
            )
        except HttpFailure:
            if attempt == attempts:
                raise
        else:
            if response.status < 500 or attempt == attempts:
                return response
        await asyncio.sleep(RETRY_BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _outcome(ctx: RunContext, status: int | None, error: str | None) -> Outcome:
    ctx.set_variable("ws.status", status)
    ctx.set_variable("ws.error", error)
    return Outcome.follow("failure" if error else "success")
