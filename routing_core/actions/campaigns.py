"""Actions that add the contact as a target of an outbound campaign (WhatsApp, voice, SMS).

They reach the campaigns through ``ctx.ports.extra["campaigns"]``
(``routing_core.model.campaigns.CampaignsPort``); a closed or unknown campaign, a campaign
of another kind, a phone already targeted or not a phone number take ``failure``, with
an ``error`` event saying why.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.cases import port, step_key
from routing_core.actions.params import Fields, Reference, Template
from routing_core.actions.sending import failed
from routing_core.actions.support import evaluated
from routing_core.expressions.values import normalise_phone
from routing_core.infra.errors import DomainError
from routing_core.model.campaigns import CampaignsPort

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext


class CampaignTargetParams(BaseModel):
    """``phone`` empty: the contact's; ``call_after`` empty: at once, else a date-time template."""

    model_config = ConfigDict(extra="forbid")

    campaign: Reference
    phone: Template = ""
    fields: Fields = {}
    call_after: Template = ""


class CampaignTarget(ActionType):
    """What the three campaign kinds share; each registered subclass names its kind."""

    Params = CampaignTargetParams
    branches = ("next", "failure")
    kind: ClassVar[str]

    async def run(self, params: CampaignTargetParams, ctx: RunContext) -> Outcome:
        given = ctx.render(params.phone).strip() if params.phone else ""
        wanted = given or ctx.interaction.contact_phone or ""
        phone = normalise_phone(wanted)
        if phone is None or phone.startswith("+0"):
            problem = (f"not a phone number in international form: {wanted[:40]!r}" if wanted
                       else "no phone: 'phone' is empty and the contact has no phone")
            return failed(ctx, problem, "invalid_phone")
        call_after = None
        if params.call_after:
            text = ctx.render(params.call_after).strip()
            call_after = moment(text) if text else None
            if text and call_after is None:
                return failed(ctx, f"call_after is not a date-time with its UTC offset: "
                                   f"{text[:40]!r}", "invalid_call_after")
        campaigns = cast(CampaignsPort, port(ctx, "campaigns", "campaigns"))
        try:
            target = await campaigns.add_target(
                campaign=params.campaign, kind=self.kind, phone=phone,
                fields=evaluated(ctx, params.fields), call_after=call_after,
                origin=step_key(ctx),
            )
        except DomainError as refusal:
            return failed(ctx, refusal.message, refusal.code)
        ctx.emit("campaign_target_added", campaign=params.campaign, target=target["id"],
                 phone=phone)
        return Outcome.follow("next")


def moment(text: str) -> datetime | None:
    """An ISO-8601 date-time with its offset (what the ``datetime`` action produces)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@register
class CampaignWhatsappTarget(CampaignTarget):
    """Queues the contact for a WhatsApp campaign."""

    type = "campaign_whatsapp_target"
    title = "Insert into a WhatsApp campaign"
    kind = "whatsapp"


@register
class CampaignVoiceTarget(CampaignTarget):
    """Queues the contact for a voice campaign, for the dialer reading the campaign API."""

    type = "campaign_voice_target"
    title = "Insert into a voice campaign"
    kind = "voice"


@register
class CampaignSmsTarget(CampaignTarget):
    """Queues the contact for an SMS campaign, sent through Twilio by the campaign sender."""

    type = "campaign_sms_target"
    title = "Insert into an SMS campaign"
    kind = "sms"
