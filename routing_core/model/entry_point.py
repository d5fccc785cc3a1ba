"""Entry points: where conversations come in (a bot, a number, a page, a chat module)."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from routing_core.model.base import Timestamped
from routing_core.model.interaction import Channel


class EntryPointMode(StrEnum):
    production = "production"
    test = "test"  # runs the start routing's version in test, when there is one


CanaryShare = Annotated[int, Field(ge=1, le=50)]


class Canary(BaseModel):
    """A share of the entry point's **new** conversations runs a candidate version of its
    start routing while production keeps the rest; a contact always lands on the same side
    (``takes``), so a customer never switches version from one conversation to the next."""

    version_id: str
    share: CanaryShare  # per cent of new conversations
    started_at: datetime

    def takes(self, entry_point_id: str, contact: str) -> bool:
        """The contact's bucket (0–99, from a hash of who they are) is under the share:
        the same answer every time, and raising the share keeps those already in."""
        digest = hashlib.sha256(f"{entry_point_id}\x00{contact}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 100 < self.share


def keyword_form(text: str) -> str:
    """How a message is compared with a consent keyword: "Stop!", " stop " and "STOP" are
    one word, and "arret" is "ARRÊT" (people type without accents on a phone)."""
    decomposed = unicodedata.normalize("NFKD", text.strip().strip(".!?¡¿ ").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


Keyword = Annotated[str, Field(min_length=1, max_length=40)]
Keywords = Annotated[list[Keyword], Field(max_length=30)]
DEFAULT_OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "ARRÊT", "DÉSINSCRIRE"]
DEFAULT_OPT_IN = ["START", "UNSTOP"]


@lru_cache(maxsize=1024)
def _forms(keywords: tuple[str, ...]) -> frozenset[str]:
    """Keywords as compared, worked out once per list: every message of an entry point is
    looked up in its lists."""
    return frozenset(keyword_form(word) for word in keywords)


class Consent(BaseModel):
    """The words by which a contact of an entry point opts out of (or back into) messages.
    A message that is exactly one of them, whatever its case, accents or final
    punctuation, is taken by the platform, not by the routing: an opt-out ends the
    conversation, is recorded on the contact and stops campaigns and the bot's messages to
    them; an opt-in (from a contact who opted out) lifts it. An empty list turns it off."""

    opt_out_keywords: Keywords = Field(default_factory=lambda: list(DEFAULT_OPT_OUT))
    opt_in_keywords: Keywords = Field(default_factory=lambda: list(DEFAULT_OPT_IN))
    opt_out_reply: str = Field(
        "You will receive no more messages from us. Reply START to receive them again.",
        max_length=1000)
    opt_in_reply: str = Field("You will receive our messages again.", max_length=1000)

    @field_validator("opt_out_keywords", "opt_in_keywords")
    @classmethod
    def _words(cls, keywords: list[str]) -> list[str]:
        cleaned = [" ".join(keyword.split()) for keyword in keywords]
        if any(not keyword_form(keyword) for keyword in cleaned):
            raise ValueError("a keyword needs a letter or a digit")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _apart(self) -> Consent:
        both = ({keyword_form(word) for word in self.opt_out_keywords}
                & {keyword_form(word) for word in self.opt_in_keywords})
        if both:
            raise ValueError(f"{sorted(both)[0]!r} cannot both opt out and opt in")
        return self

    def keyword(self, text: str) -> Literal["opt_out", "opt_in"] | None:
        """Which consent keyword the message is, if it is one."""
        if len(text) > 60:  # keywords are short: a long message is never one
            return None
        typed = keyword_form(text)
        if typed in _forms(tuple(self.opt_out_keywords)):
            return "opt_out"
        if typed in _forms(tuple(self.opt_in_keywords)):
            return "opt_in"
        return None


class EntryPoint(Timestamped):
    channel: Channel
    name: str
    address: str
    mode: EntryPointMode = EntryPointMode.production
    start_routing: str
    end_routing: str | None = None
    fallback_text: str | None = None
    credentials_sealed: str | None = None  # encrypted JSON; never returned by the API
    revision: int = 0  # +1 at each save through the panel or the API: a stale form is refused
    # the admin's simulator: a hidden web chat entry point that runs this one version
    simulated_version: str | None = None
    canary: Canary | None = None
    consent: Consent = Field(default_factory=Consent)
