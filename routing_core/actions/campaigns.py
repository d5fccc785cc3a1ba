"""Actions that add the contact as a target of an outbound campaign (WhatsApp, voice, SMS)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import Fields, Reference, Template


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


@register
class CampaignWhatsappTarget(CampaignTarget):
    """Queues the contact for a WhatsApp campaign."""

    type = "campaign_whatsapp_target"


@register
class CampaignVoiceTarget(CampaignTarget):
    """Queues the contact for a voice campaign, for the dialer reading the campaign API."""

    type = "campaign_voice_target"


@register
class CampaignSmsTarget(CampaignTarget):
    """Queues the contact for an SMS campaign, sent through Twilio by the campaign sender."""

    type = "campaign_sms_target"
