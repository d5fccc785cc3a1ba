"""Addresses of files we send (an agent's photo, a document): a provider fetches them
from us (Twilio, Telegram and Meta download a message's media from a URL), and so does a
web chat visitor's browser, none of them with an account of ours. The address holds the
file's id and a MAC of it under the service's secret key: it cannot be guessed from
another file's, and only files we chose to send have one."""

from __future__ import annotations

import hashlib
import hmac


class MediaLinks:
    def __init__(self, secret_key: str, public_url: str):
        self._key = hashlib.sha256(f"smart-routing media links\0{secret_key}".encode()).digest()
        self.public_url = public_url.rstrip("/")

    def _mac(self, file_id: str) -> str:
        return hmac.new(self._key, file_id.encode(), hashlib.sha256).hexdigest()[:32]

    def token(self, file_id: str) -> str:
        return f"{file_id}.{self._mac(file_id)}"

    def url(self, file_id: str) -> str:
        return f"{self.public_url}/media/files/{self.token(file_id)}"

    def file_of(self, token: str) -> str | None:
        """The file id a token names, or None for a token we did not make."""
        file_id, _, mac = token.partition(".")
        if not file_id or not hmac.compare_digest(self._mac(file_id).encode(), mac.encode()):
            return None
        return file_id
