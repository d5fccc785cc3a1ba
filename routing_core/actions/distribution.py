"""Actions that hand the conversation on: to a queue of agents, one agent, another routing."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import Reference, RequiredTemplate, Template


@register
class ToQueue(ActionType):
    """Puts the conversation in front of the agents of a queue, or says none can take it."""

    type = "to_queue"
    branches = ("answered", "no_agent")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        queue: Reference
        priority: Annotated[int, Field(ge=0, le=10)] = 0
        max_wait_seconds: Annotated[int, Field(ge=10, le=86_400)] = 600
        waiting_message: Template = ""


@register
class ToSmartRouting(ActionType):
    """Hands the interaction to another routing's production version; this tree ends here."""

    type = "to_smart_routing"
    branches = ()

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        routing: Reference


@register
class ToUser(ActionType):
    """Offers the conversation to one named agent (e.g. the contact's usual adviser)."""

    type = "to_user"
    branches = ("answered", "unavailable")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        user: RequiredTemplate
