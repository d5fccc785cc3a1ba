"""Actions that send outside the conversation: e-mail and SMS.

Both reach the world through a port (``Ports.mail``, ``Ports.sms``) and never crash a
conversation: a bad address, a missing port or a provider's refusal takes the ``failure``
branch, and an ``error`` event says why. The message goes out while the step runs (there
is no outbox row for it), so a step replayed after a crash may send it again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import RequiredTemplate, Template, Title
from routing_core.expressions.values import is_email, normalise_phone
from routing_core.ports.channels import SendError

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

MAX_RECIPIENTS = 50
_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def failed(ctx: RunContext, message: str, code: str) -> Outcome:
    """The failure branch, with the reason (and a code to count by) in the events list."""
    ctx.emit("error", message=f"{ctx.action.type}: {message}", code=code)
    return Outcome.follow("failure")


def addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or spaces, each once."""
    return list(dict.fromkeys(part for part in _ADDRESS_SEPARATORS.split(text) if part))


def address_problem(recipients: list[str], reply_to: str) -> str | None:
    """What is wrong with the rendered addresses, if anything."""
    if not recipients:
        return "no recipient: 'to' rendered empty"
    invalid = [address for address in recipients if not is_email(address)]
    if invalid:
        return f"not an e-mail address: {', '.join(invalid)[:200]}"
    if len(recipients) > MAX_RECIPIENTS:
        return f"{len(recipients)} recipients; at most {MAX_RECIPIENTS}"
    if reply_to and not is_email(reply_to):
        return f"reply_to is not an e-mail address: {reply_to[:200]}"
    return None


@register
class EmailSend(ActionType):
    """Sends an e-mail (a summary to a team, a confirmation to the contact)."""

    type = "email_send"
    title = "Send an e-mail"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        to: RequiredTemplate
        subject: Title
        body: RequiredTemplate
        reply_to: Template = ""

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        recipients = addresses(ctx.render(params.to))
        reply_to = ctx.render(params.reply_to).strip() if params.reply_to else ""
        problem = address_problem(recipients, reply_to)
        if problem is not None:
            return failed(ctx, problem, "invalid_address")
        if ctx.ports.mail is None:
            return failed(ctx, "e-mail sending is not configured here", "not_configured")
        subject = " ".join(ctx.render(params.subject).split())  # a header is one line
        try:
            await ctx.ports.mail.send(
                to=recipients, subject=subject, body=ctx.render(params.body),
                reply_to=reply_to or None,
            )
        except SendError as error:
            return failed(ctx, error.message, error.code)
        ctx.emit("email_sent", to=recipients, subject=subject)
        return Outcome.follow("next")


@register
class SmsSend(ActionType):
    """Sends an SMS, e.g. a link or a code, whatever channel the conversation is on."""

    type = "sms_send"
    title = "Send an SMS"
    branches = ("next", "failure")

    class Params(BaseModel):
        """An empty ``to`` means the contact's phone, an empty ``sender`` the default one."""

        model_config = ConfigDict(extra="forbid")

        to: Template = ""
        text: RequiredTemplate
        sender: Template = ""

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        wanted = ctx.render(params.to).strip() if params.to else ""
        if not wanted:
            wanted = ctx.interaction.contact_phone or ""
            if not wanted:
                return failed(ctx, "no number: 'to' is empty and the contact has no phone",
                              "invalid_number")
        number = normalise_phone(wanted)
        if number is None or number.startswith("+0"):  # no country code starts with 0
            return failed(ctx, f"not a phone number in international form: {wanted[:40]!r}",
                          "invalid_number")
        text = ctx.render(params.text)
        if not text.strip():
            return failed(ctx, "the text rendered empty", "empty_text")
        if ctx.ports.sms is None:
            return failed(ctx, "SMS sending is not configured here", "not_configured")
        sender = ctx.render(params.sender).strip() if params.sender else ""
        try:
            provider_id = await ctx.ports.sms.send(to=number, text=text, sender=sender or None)
        except SendError as error:
            return failed(ctx, error.message, error.code)
        ctx.emit("sms_sent", to=number, provider_id=provider_id)
        return Outcome.follow("next")
