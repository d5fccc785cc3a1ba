"""Sealing credentials at rest: a database dump alone does not reveal bot tokens.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from the service's secret key, so
every process that shares the secret key can open what another sealed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretsBox:
    def __init__(self, secret_key: str):
        digest = hashlib.sha256(b"smart-routing credentials\0" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(sealed.encode())))
        except InvalidToken:
            raise ValueError(
                "credentials cannot be decrypted: was SR_SECRET_KEY changed?"
            ) from None
