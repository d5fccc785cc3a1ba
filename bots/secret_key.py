"""Where the service's secret key comes from, and the check that it opens what is stored.

The key seals channel credentials and signs sessions, simulator tickets and web chat
keys. A copy of the database must not carry it: a generated key is therefore kept apart
from the data directory (``SR_SECRET_KEY_FILE``, by default in the user's configuration
directory), and a key given by the operator must be long enough to resist guessing.
A process started with another key than the one that sealed the stored credentials would
answer every webhook of those entry points with an error, and the providers would retry
for ever: ``serve`` refuses to start instead, naming the setting.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from config import Settings
from routing_core.infra.secrets_box import SecretsBox
from routing_core.store import Store

log = logging.getLogger(__name__)
MIN_SECRET_KEY_LENGTH = 32
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class SecretKeyError(Exception):
    """The key cannot be used; the message is one sentence naming the setting."""


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "smart-routing" / "secret_key"


def secret_key_for(settings: Settings, announce: bool = True) -> tuple[str, str]:
    """The key, and where it came from (for messages): ``SR_SECRET_KEY``, else the file
    ``SR_SECRET_KEY_FILE`` names, else the one an older release kept in the data
    directory, else a key generated once in the default file (said once on stdout)."""
    if settings.secret_key:
        return _long_enough(settings.secret_key, "SR_SECRET_KEY"), "SR_SECRET_KEY"
    if settings.secret_key_file is not None:
        return _read(settings.secret_key_file), f"SR_SECRET_KEY_FILE ({settings.secret_key_file})"
    legacy = settings.data_dir / "secret_key"
    if legacy.exists():
        log.warning("the secret key lies in the data directory (%s), so a copy of the data "
                    "carries it: move it elsewhere and set SR_SECRET_KEY_FILE", legacy)
        return _read(legacy), f"the key file {legacy}"
    path = default_key_file()
    if not path.exists():
        _generate(path)
        if announce:
            print(f"smart-routing: generated a secret key in {path}; every process that "
                  "shares this database needs the same key: copy the file and set "
                  "SR_SECRET_KEY_FILE, or set SR_SECRET_KEY to its content", flush=True)
    return _read(path), f"the key file {path}"


def _read(path: Path) -> str:
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise SecretKeyError(f"cannot read the secret key file {path}: "
                             f"{error.strerror or error}") from None
    return _long_enough(key, f"the key file {path}")


def _long_enough(key: str, source: str) -> str:
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SecretKeyError(f"{source} must hold at least {MIN_SECRET_KEY_LENGTH} "
                             f"characters (make one with: {MAKE_ONE})")
    return key


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48))


async def check_opens_stored_credentials(settings: Settings, key: str, source: str) -> None:
    """Refuse a key that cannot open the credentials stored in the database (one sealed
    text is enough to tell: every entry point is sealed with the same key)."""
    store = Store.connect(settings.mongodb_uri or "", settings.mongodb_database,
                          settings.mongodb_write_concern)
    try:
        sealed = await store.entry_points.collection.find_one(
            {"credentials_sealed": {"$nin": [None, ""]}},
            projection={"credentials_sealed": 1, "name": 1})
    finally:
        await store.close()
    if sealed is None:
        return
    try:
        SecretsBox(key).open(sealed["credentials_sealed"])
    except ValueError:
        raise SecretKeyError(
            f"the channel credentials in the database (entry point {sealed.get('name')!r} "
            f"among others) were sealed with another secret key than {source}: set "
            "SR_SECRET_KEY or SR_SECRET_KEY_FILE to the key that sealed them") from None
