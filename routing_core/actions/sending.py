"""Actions that send outside the conversation: e-mail and SMS."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import RequiredTemplate, Template, Title


@register
class EmailSend(ActionType):
    """Sends an e-mail (a summary to a team, a confirmation to the contact)."""

    type = "email_send"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        to: RequiredTemplate
        subject: Title
        body: RequiredTemplate
        reply_to: Template = ""


@register
class SmsSend(ActionType):
    """Sends an SMS, e.g. a link or a code, whatever channel the conversation is on."""

    type = "sms_send"
    branches = ("next", "failure")

    class Params(BaseModel):
        """An empty ``to`` means the contact's phone, an empty ``sender`` the default one."""

        model_config = ConfigDict(extra="forbid")

        to: Template = ""
        text: RequiredTemplate
        sender: Template = ""
