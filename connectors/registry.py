"""Every channel connector of the service, built from the settings."""

from __future__ import annotations

from config import Settings
from connectors.base import Connector
from connectors.messenger import MessengerConnector
from connectors.telegram import TelegramConnector
from connectors.whatsapp import WhatsAppConnector


def build_connectors(settings: Settings) -> list[Connector]:
    """One connector per provider channel (web chat needs none: it is served in-process)."""
    return [
        TelegramConnector.from_settings(settings),
        MessengerConnector.from_settings(settings),
        WhatsAppConnector.from_settings(settings),
    ]
