"""The application factory: one Quart app with the API, the pages and the channels."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, redirect, request
from quart_schema import HttpSecurityScheme, Info, QuartSchema

from admin import pages
from admin.api import (
    accounts,
    agent,
    campaigns,
    cases,
    changes,
    contacts,
    crm,
    interactions,
    outbox,
    queues,
    reference,
    replays,
    routings,
    statistics,
    surveys,
    tasks,
    versions,
)
from admin.context import authenticated_user
from admin.errors import register_error_handlers
from bots import agent as agent_console
from bots import health, media, webchat, webchat_uploads
from bots import metrics as prometheus
from bots.demo import install_demo
from bots.webhook_gate import WebhookGate
from config import Settings
from connectors.email import SmtpMail
from connectors.http import GuardedHttpPort
from connectors.registry import build_connectors
from connectors.sms import TwilioSms
from routing_core.infra.throttle import LoginThrottle
from routing_core.services import Services
from routing_core.store import Store

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
        # blob: a file the visitor picked, or one the agent console fetched with its token
        "img-src 'self' data: blob: https:; media-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
}
ASGIApp = Any


class FrameLimit:
    """Closes a WebSocket (1009, message too big) whose client sends a frame over the limit:
    MAX_CONTENT_LENGTH covers request bodies only, and Quart has no frame limit of its own."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def limited() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "websocket.receive" and self._too_big(message):
                await send({"type": "websocket.close", "code": 1009})
                return {"type": "websocket.disconnect", "code": 1009}
            return message

        await self.app(scope, limited, send)

    def _too_big(self, message: dict[str, Any]) -> bool:
        text, data = message.get("text") or "", message.get("bytes") or b""
        if len(text) * 4 <= self.limit:  # UTF-8 takes at most 4 bytes a character
            return len(data) > self.limit
        return len(text.encode()) > self.limit


def create_app(settings: Settings) -> Quart:
    """Build the app; MongoDB is opened when serving starts and closed when it stops.

    ``settings.mongodb_uri`` must be set: the CLI starts the embedded mongod first.
    """
    if not settings.mongodb_uri:
        raise ValueError("create_app needs settings.mongodb_uri")
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.secret_key = settings.secret_key
    QuartSchema(
        app,
        # the browsable UIs load their scripts from a CDN: the JSON description only
        swagger_ui_path=None, redoc_ui_path=None, scalar_ui_path=None,
        info=Info(title="smart-routing", version="0.1.0"),
        security_schemes={"bearer": HttpSecurityScheme(scheme="bearer")},
        security=[{"bearer": []}],
    )
    register_error_handlers(app)
    metrics = prometheus.install(app)
    frame_limit = FrameLimit(app.asgi_app, settings.websocket_max_frame_bytes)
    app.asgi_app = WebhookGate(  # type: ignore[method-assign,assignment]
        frame_limit, app.extensions, public_url=settings.public_url,
        max_body_bytes=settings.max_body_bytes, headers=SECURITY_HEADERS)
    for module in (health, accounts, routings, versions, changes, reference, interactions,
                   contacts, outbox, queues, agent, cases, crm, tasks, campaigns, surveys,
                   statistics, replays, webchat, webchat_uploads, media,
                   agent_console, pages):
        app.register_blueprint(module.blueprint)

    @app.before_request
    async def api_description_for_users() -> None:
        """The API's description maps every route an attacker could try: for logged-in
        users unless the operator makes it public (``SR_PUBLIC_API_DOCS``)."""
        if request.path == "/openapi.json" and not settings.public_api_docs:
            await authenticated_user()

    @app.get("/")
    async def root() -> Any:
        """A person who opens the service's address lands on the panel's home page."""
        return redirect("/admin/")

    if settings.bench_probe:
        from bots import bench_probe

        app.register_blueprint(bench_probe.blueprint)
        app.asgi_app = bench_probe.TelegramTurnProbe(  # type: ignore[method-assign]
            app.asgi_app, app.extensions)

    @app.before_serving
    async def open_services() -> None:
        store = Store.connect(settings.mongodb_uri or "", settings.mongodb_database,
                          settings.mongodb_write_concern)
        http = GuardedHttpPort(
            allow_private=settings.allow_private_web_services,
            allow_list=settings.web_service_allow_list,
        )
        mail, sms = SmtpMail.from_settings(settings), TwilioSms.from_settings(settings)
        built = Services.build(settings, store, http=http, mail=mail, sms=sms)
        channel_connectors = build_connectors(settings)
        for connector in channel_connectors:
            built.outbox.register(connector.channel, connector)
            built.entry_points.on_saved(connector.channel, connector.on_saved)
        app.extensions["connectors"] = {c.channel.value: c for c in channel_connectors}
        app.extensions["closing"] = [http, *([sms] if sms else []), *channel_connectors]
        app.extensions["distribution"] = await agent_console.install(app, built)
        throttle = LoginThrottle.from_settings(store.database, settings)
        await throttle.ensure_indexes()
        app.extensions["login_throttle"] = throttle
        app.extensions["metrics_log_counter"] = prometheus.plug(metrics, built)
        await built.start()
        app.extensions["services"] = built
        if settings.demo_bot:
            await install_demo(built)

    @app.after_serving
    async def close_services() -> None:
        built: Services = app.extensions.pop("services")
        prometheus.unplug(app.extensions.pop("metrics_log_counter"))
        await built.stop()
        await app.extensions.pop("distribution").stop()
        for closable in app.extensions.pop("closing", []):
            await closable.close()
        await built.store.close()

    @app.after_request
    async def security_headers(response: Response) -> Response:
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    return app
