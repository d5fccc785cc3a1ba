"""Actions that reach other systems over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import (
    Retries,
    Template,
    VariableName,
    check_template,
    invalid,
    matching,
)

# An HTTP header name (an RFC 9110 token).
HeaderName = Annotated[
    str, matching(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}", "not a valid HTTP header name")
]
# Where a value sits in the JSON response, e.g. ``$.data.items[0].id``.
JsonPath = Annotated[
    str, matching(r"\$\S{0,199}", "a JSON path starts with '$' and has no spaces, e.g. $.data.id")
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


@register
class WebService(ActionType):
    """Calls an HTTP API and maps values of its JSON answer into variables."""

    type = "web_service"
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
