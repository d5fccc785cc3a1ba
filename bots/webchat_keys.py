"""What a web chat visitor holds besides its id, and what its frames show instead of ids.

The visitor id is the conversation's address: agents, the conversation list and exports
show it. With the id alone anyone who saw it could read and write as that visitor, so a
socket also needs the visitor's *key*, an HMAC of the entry point and the id under the
service's secret key: issued once to a visitor that has never written (in the first
``history`` frame), kept by the widget, shown to nobody else and stored nowhere (any
process that shares the secret key checks it, with no database read).

Frames carry no internal id either: a message's ``seq`` (what a reconnecting widget asks
to resume after) is its event id sealed with AES-SIV — deterministic, so the same message
sent live and replayed has the same ``seq``, and opaque, so no id leaks from a frame.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from quart import current_app

from admin.context import services


def _derive(secret_key: str, purpose: str, size: int) -> bytes:
    digest = b""
    counter = 0
    while len(digest) < size:  # HKDF-expand-like, one purpose per key
        counter += 1
        digest += hmac.new(secret_key.encode(), f"{purpose}\0{counter}".encode(),
                           hashlib.sha256).digest()
    return digest[:size]


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WebChatKeys:
    def __init__(self, secret_key: str):
        self._visitors = _derive(secret_key, "smart-routing web chat visitor keys", 32)
        self._positions = AESSIV(_derive(secret_key, "smart-routing web chat positions", 64))

    def visitor_key(self, entry_point_id: str, visitor: str) -> str:
        mac = hmac.new(self._visitors, f"{entry_point_id}\0{visitor}".encode(), hashlib.sha256)
        return _text(mac.digest()[:24])

    def holds(self, entry_point_id: str, visitor: str, key: str) -> bool:
        return hmac.compare_digest(self.visitor_key(entry_point_id, visitor).encode(),
                                   key.encode())

    def seal(self, event_id: str) -> str:
        return _text(self._positions.encrypt(event_id.encode(), None))

    def open(self, sealed: str) -> str | None:
        """The event id of a ``seq``, or None for anything this service did not seal."""
        try:
            return self._positions.decrypt(_bytes(sealed), None).decode()
        except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError):
            return None


def keys() -> WebChatKeys:
    """This app's visitor keys and sealed positions, under the service's secret key."""
    extensions = current_app.extensions
    if "webchat_keys" not in extensions:
        extensions["webchat_keys"] = WebChatKeys(services().settings.secret_key or "")
    return cast(WebChatKeys, extensions["webchat_keys"])
