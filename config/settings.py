"""Load and validate settings from three layers: defaults, a TOML file, the environment.

Every setting has an environment name ``SR_<FIELD>`` (``MONGODB_URI`` is also read bare,
as most MongoDB tooling expects). A bad value stops start-up with a message naming the
setting and where it came from, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "SR_"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is meant for the operator."""


class Settings(BaseModel):
    """All knobs of one service process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    server: str = Field("hypercorn", pattern="^(hypercorn|uvicorn)$")
    workers: int = Field(1, ge=1, le=64)
    data_dir: Path = Path("var")
    mongodb_uri: str | None = None
    mongodb_database: str = "smart_routing"
    # how many replica set members must hold a write before it counts (store/__init__.py)
    mongodb_write_concern: str = Field("majority", pattern="^(majority|[1-9])$")
    embedded_mongodb_port: int = Field(27117, ge=1, le=65535)
    # WiredTiger's cache of the embedded mongod: latency stays flat while the hot indexes
    # and recent documents fit in it (see the history benchmark)
    embedded_mongodb_cache_gb: float = Field(0.5, ge=0.25, le=1024)
    secret_key: str | None = Field(
        None, description="Signs sessions and encrypts credentials; read from secret_key_file "
        "(generated there once) if unset."
    )
    # Where the key is kept when secret_key is unset: never beside the database, so a copy
    # of the data does not carry the key that opens its credentials (bots/secret_key.py).
    secret_key_file: Path | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    timezone: str = "UTC"
    telegram_api_base: str = "https://api.telegram.org"
    twilio_api_base: str = "https://api.twilio.com"
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v21.0"
    allow_private_web_services: bool = False
    web_service_allow_list: list[str] = Field(default_factory=list)
    # Addresses of the load balancers in front of the service: from them (only), the client's
    # address is read from X-Forwarded-For, for the per-address login limit.
    trusted_proxies: list[str] = Field(default_factory=list)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "smart-routing@localhost"
    # Outbound SMS (the sms_send action): the Twilio account and the default sender (a
    # number or an alphanumeric id). Without the account, sms_send takes its failure branch.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    sms_sender: str | None = None
    max_body_bytes: int = Field(1_048_576, ge=1024)
    token_ttl_seconds: int = Field(12 * 3600, ge=60)
    # argon2id memory per password hash; the tests lower it to keep thousands of logins cheap
    argon2_memory_kib: int = Field(65_536, ge=64, le=4_194_304)
    schedule_poll_seconds: float = Field(5.0, gt=0, le=3600)
    schedule_late_grace_seconds: float = Field(60.0, ge=0)
    step_budget: int = Field(200, ge=1, le=100_000)
    # The bot's messages in one conversation: per step (one customer message or one timer)
    # and per hour; past them nothing more is sent, with an outbound_capped event.
    messages_per_step: int = Field(20, ge=1, le=1000)
    messages_per_hour: int = Field(120, ge=1, le=100_000)
    # Timers that fired in a row with no customer message between them: past it the
    # conversation expires (a loop through a pause keeps nobody's chat alive for ever).
    wakes_without_reply: int = Field(50, ge=1, le=100_000)
    inactivity_expiry_seconds: int = Field(24 * 3600, ge=1)
    lease_seconds: float = Field(30.0, gt=0, le=3600)
    # Conversations this process has accepted and not yet processed; beyond it, webhooks
    # answer 503 with Retry-After, so a provider redelivers later instead of the backlog
    # growing until replies come minutes late.
    inbox_limit: int = Field(500, ge=1)
    # Conversations in progress past which a webhook waits (up to a second) for one to
    # finish before it takes its message: a busy process takes messages at the rate it
    # answers them instead of queueing them up to the inbox limit.
    inbox_pace: int = Field(64, ge=1)
    sweep_seconds: float = Field(0.5, gt=0, le=60)
    # /metrics: public only when set; else a scraper's bearer token, or a user with audit:read
    public_metrics: bool = False
    metrics_token: str | None = Field(None, min_length=16)
    # /openapi.json: public only when set; else for logged-in users (any role)
    public_api_docs: bool = False
    demo_bot: bool = True
    bench_probe: bool = False
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # "json": one JSON object per line, with interaction_id and entry_point_id when known.
    log_format: str = Field("text", pattern="^(text|json)$")
    # Failed logins per e-mail and per client address within the window, then 429.
    login_failures_per_email: int = Field(5, ge=1)
    login_failures_per_address: int = Field(20, ge=1)
    login_throttle_seconds: int = Field(900, ge=1)
    websocket_max_frame_bytes: int = Field(65_536, ge=1024)
    # What one web chat visitor or address may cost (bots/webchat_limits.py)
    # (per address: behind a reverse proxy, list it in trusted_proxies, or every visitor
    # shares the proxy's address)
    webchat_messages_per_minute: int = Field(30, ge=1, le=100_000)
    webchat_sockets_per_address: int = Field(100, ge=1, le=100_000)
    webchat_opens_per_minute: int = Field(120, ge=1, le=100_000)

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("must have at least 32 characters (make one with: python3 -c "
                             "'import secrets; print(secrets.token_urlsafe(48))')")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("public_url", "telegram_api_base", "twilio_api_base", "graph_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "MONGODB_URI" in environ:
        values["mongodb_uri"] = environ["MONGODB_URI"]
    for name, field in Settings.model_fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if field.annotation == list[str]:
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
        else:  # pydantic parses the text, so SR_DEMO_BOT=maybe is refused, not taken as false
            values[name] = raw
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise SettingsError(f"SR_CONFIG names {path}, which does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from error


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Merge defaults, the TOML file named by ``SR_CONFIG``, the environment and overrides."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_path := environ.get("SR_CONFIG"):
        from_file = _from_file(Path(config_path))
        merged.update(from_file)
        sources.update({name: f"{name} in {config_path}" for name in from_file})
    from_environment = _from_environment(environ)
    merged.update(from_environment)
    sources.update({name: ENV_PREFIX + name.upper() for name in from_environment})
    given = {key: value for key, value in overrides.items() if value is not None}
    merged.update(given)
    sources.update({name: name for name in given})
    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"])
            source = sources.get(str(item["loc"][0]), ENV_PREFIX + name.upper()) if name else ""
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {message}" if source else message)
        # One line, so a service manager's log shows the whole reason next to the exit.
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
