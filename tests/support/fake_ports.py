"""In-memory mail and SMS ports, scripted like ``FakeHttp``: each answers from a list of
canned outcomes, in order, and records what the action asked.

An outcome is ``{}`` (sent; ``{"sid": …}`` for the SMS's provider id) or
``{"raise": <SendError code>, "message": …}``, e.g. ``{"raise": "recipient_unreachable"}``.
"""

from __future__ import annotations

from typing import Any

from routing_core.ports.channels import SEND_ERRORS, SendError

ERRORS_BY_CODE: dict[str, type[SendError]] = {error.code: error for error in SEND_ERRORS}


def _outcome(script: list[dict[str, Any]], call: str) -> dict[str, Any]:
    if not script:
        raise AssertionError(f"unexpected {call}: no canned outcome left")
    canned = script.pop(0)
    if "raise" in canned:
        raise ERRORS_BY_CODE[canned["raise"]](canned.get("message", canned["raise"]))
    return canned


class FakeMail:
    """The engine's MailPort."""

    def __init__(self, script: list[dict[str, Any]]):
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    async def send(
        self, *, to: list[str], subject: str, body: str, reply_to: str | None
    ) -> None:
        self.sent.append({"to": list(to), "subject": subject, "body": body,
                          "reply_to": reply_to})
        _outcome(self.script, f"e-mail to {to}")


class FakeSms:
    """The engine's SmsPort."""

    def __init__(self, script: list[dict[str, Any]]):
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    async def send(self, *, to: str, text: str, sender: str | None) -> str:
        self.sent.append({"to": to, "text": text, "sender": sender})
        canned = _outcome(self.script, f"SMS to {to}")
        return str(canned.get("sid", f"SM{len(self.sent):032d}"))
