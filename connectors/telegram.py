"""Telegram through aiogram 3's ``Bot`` client and typed ``Update`` models.

Only the client and the types are used: aiogram's Dispatcher and FSM would be a second
state machine beside the routing tree. One ``Bot`` (one HTTP session) per bot token, built
on ``AiohttpSession(api=TelegramAPIServer.from_base(...))`` so tests and a local Bot API
server can stand in for api.telegram.org. Saving an entry point registers its webhook with
a secret token, which every update must then carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto, SetWebhook
from aiogram.methods.base import Response
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from aiogram.utils.token import TokenValidationError
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError

from config import Settings
from connectors.base import (
    Connector,
    MalformedPayload,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
    header,
    load_json,
    text_chunks,
)
from connectors.media_fetch import download
from routing_core.infra.errors import Invalid, Words
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound, OutboundChoice
from routing_core.model.media import Media, MediaFile, MediaKind, kind_of
from routing_core.ports.channels import (
    BadCredentials,
    MediaUnavailable,
    NetworkFailure,
    ProviderUnavailable,
    RateLimited,
    RecipientUnreachable,
    Rejected,
    SendContext,
    SendError,
)

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
ALLOWED_UPDATES = ["message", "callback_query"]
TEXT_LIMIT = 4096  # characters of one message
CAPTION_LIMIT = 1024  # characters of a photo's caption
CALLBACK_DATA_LIMIT = 64  # bytes
REQUEST_TIMEOUT_SECONDS = 30
# aiogram parses each answer as ``Response[<the method's result>]``, a class pydantic builds
# on first use and caches only weakly: unreferenced, it was collected and rebuilt at every
# call (a tenth of the service's CPU under Telegram traffic). Holding them keeps them built.
RESPONSE_MODELS = tuple(Response[method.__returning__]  # type: ignore[name-defined]
                        for method in (SendMessage, SendPhoto, AnswerCallbackQuery, SetWebhook))




def callback_data(choices: list[OutboundChoice]) -> list[str]:
    """What each button sends back: the choice's value, or — when its UTF-8 form is longer
    than Telegram's 64 bytes — the choice's number (a typed number selects it too)."""
    values = {choice.value for choice in choices}
    data: list[str] = []
    for number, choice in enumerate(choices, start=1):
        if len(choice.value.encode()) <= CALLBACK_DATA_LIMIT:
            data.append(choice.value)
            continue
        substitute = str(number)
        while substitute in values:  # never mistaken for another choice's value
            substitute = f"#{substitute}"
        data.append(substitute)
    return data


def keyboard(choices: list[OutboundChoice]) -> InlineKeyboardMarkup:
    """One button per row: labels may be long, and a column reads like a menu."""
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=choice.label, callback_data=data)]
        for choice, data in zip(choices, callback_data(choices), strict=True)
    ])


def send_error(error: AiogramError, token: str) -> SendError:
    """aiogram's error classes mapped onto the closed set of ``routing_core.ports.channels``
    (the message without aiogram's documentation links, and never with the token)."""
    detail = getattr(error, "message", None) or str(error)
    message = f"{type(error).__name__}: {detail}".replace(token, "<token>")
    if isinstance(error, TelegramRetryAfter):
        return RateLimited(message, retry_after=float(error.retry_after))
    if isinstance(error, TelegramServerError | ClientDecodeError):
        return ProviderUnavailable(message)
    if isinstance(error, TelegramEntityTooLarge):
        return Rejected(message)
    if isinstance(error, TelegramNetworkError):
        if isinstance(error.__cause__, TimeoutError):  # it may have been sent
            return ProviderUnavailable(message)
        return NetworkFailure(message)
    if isinstance(error, TelegramForbiddenError):
        return RecipientUnreachable(message)
    if isinstance(error, TelegramUnauthorizedError | TelegramNotFound):
        return BadCredentials(message)  # the Bot API answers both for a bad token
    if isinstance(error, TelegramBadRequest) and "chat not found" in message.lower():
        return RecipientUnreachable(message)
    return Rejected(message)


async def send_text(bot: Bot, chat: int | str, text: str) -> int:
    """``sendMessage`` of a plain text (most of what a bot says) on the bot's own session:
    the same request aiogram makes — its URL, form fields, timeout — without building its
    typed method and parsing the whole ``Message`` answer, which cost a third of the CPU of
    a send (sampled with py-spy). Any answer but a plain success goes through aiogram's
    own check, so errors are aiogram's, as for every other method. The message's id."""
    session = bot.session

    def method() -> SendMessage:
        return SendMessage(chat_id=chat, text=text)

    if not isinstance(session, AiohttpSession):  # every bot of ``TelegramConnector.bot``
        return (await bot(method())).message_id
    client = await session.create_session()
    try:
        async with client.post(session.api.api_url(token=bot.token, method="sendMessage"),
                               data={"chat_id": str(chat), "text": text},
                               timeout=ClientTimeout(total=session.timeout)) as answer:
            raw, status = await answer.text(), answer.status
    except TimeoutError as error:
        raise TelegramNetworkError(method=method(), message="Request timeout error") from error
    except ClientError as error:
        raise TelegramNetworkError(method=method(),
                                   message=f"{type(error).__name__}: {error}") from error
    if 200 <= status < 300:
        with contextlib.suppress(ValueError, LookupError, TypeError):
            parsed = json.loads(raw)
            if parsed["ok"] is True:
                return int(parsed["result"]["message_id"])
    checked = session.check_response(bot=bot, method=method(), status_code=status,
                                     content=raw).result
    if checked is None:  # ``ok`` without a message
        raise ClientDecodeError("Failed to deserialize object", ValueError("no result"), raw)
    return checked.message_id  # a success after all, in a shape aiogram accepts


def chat_id(contact: str) -> int | str:
    """Private chat ids are integers; a channel's ``@username`` stays text."""
    try:
        return int(contact)
    except ValueError:
        return contact


def display_name(user: User | None) -> str | None:
    return user.full_name if user is not None else None



def media_of(message: Message) -> list[Media]:
    """A photo (its largest size), a document, a voice note, a sound, a video or a place:
    files by their ``file_id`` (fetched later with the bot's token). What no customer can
    send (a negative size, a place off the Earth) is kept as nothing."""
    try:
        return _media_of(message)
    except ValueError:
        return []


def _media_of(message: Message) -> list[Media]:
    if message.location is not None:
        return [Media(kind=MediaKind.location, latitude=message.location.latitude,
                      longitude=message.location.longitude,
                      name=message.venue.title if message.venue else None)]
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return [Media(kind=MediaKind.image, source=largest.file_id, content_type="image/jpeg",
                      size=largest.file_size)]
    for found, kind in ((message.document, None), (message.voice, MediaKind.audio),
                        (message.audio, MediaKind.audio), (message.video, MediaKind.video)):
        if found is not None:
            content_type = getattr(found, "mime_type", None)
            return [Media(kind=kind or kind_of(content_type), source=found.file_id,
                          content_type=content_type, size=found.file_size,
                          name=getattr(found, "file_name", None))]
    return []


class TelegramConnector(Connector):
    """Telegram bots: one entry point per bot token."""

    channel: ClassVar[Channel] = Channel.telegram

    def __init__(self, api_base: str, public_url: str):
        self.api = TelegramAPIServer.from_base(api_base)
        self.public_url = public_url.rstrip("/")
        self._bots: dict[str, Bot] = {}
        self._verified: dict[str, Bot] = {}  # entry point id → its bot, set by verify
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramConnector:
        return cls(settings.telegram_api_base, settings.public_url)

    # -- clients ---------------------------------------------------------------------------

    def bot(self, token: str) -> Bot:
        """The cached client of a token; TokenValidationError when it is not one."""
        bot = self._bots.get(token)
        if bot is None:
            session = AiohttpSession(api=self.api, timeout=REQUEST_TIMEOUT_SECONDS)
            bot = Bot(token, session=session)
            self._bots[token] = bot
        return bot

    async def typing(self, contact: str, context: SendContext) -> None:
        """The chat shows "typing…" for a few seconds (``sendChatAction``)."""
        token = str(context.credentials.get("token") or "")
        try:
            await self.bot(token).send_chat_action(chat_id=contact, action="typing")
        except TokenValidationError:
            raise BadCredentials("the entry point's token is not a bot token") from None
        except AiogramError as error:
            raise send_error(error, token) from None

    async def fetch_media(self, media: Media, context: SendContext) -> MediaFile:
        """A ``file_id``: its path from ``getFile``, then the file from the Bot API's file
        address (which holds the token: fetched here, never shown)."""
        token = str(context.credentials.get("token") or "")
        try:
            bot = self.bot(token)
            found = await bot.get_file(media.source or "")
        except (TelegramAPIError, TokenValidationError) as error:
            raise MediaUnavailable(f"Telegram did not give the file: {error}") from None
        if not found.file_path:
            raise MediaUnavailable("Telegram gave no path for the file")
        url = self.api.file_url(token, found.file_path)
        return await download(url, [url.rsplit("/", 1)[0]], name=media.name,
                              content_type=media.content_type)

    def webhook_url(self, entry_point: EntryPoint) -> str:
        return f"{self.public_url}/webhooks/telegram/{entry_point.id}"

    async def close(self) -> None:
        """Let owed answers finish (a few seconds at most), then close every session."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        bots, self._bots = list(self._bots.values()), {}
        self._verified.clear()
        for bot in bots:
            await bot.session.close()

    async def idle(self) -> None:
        """Wait for the provider calls owed after webhooks (tests, shut-down)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # -- entry points ----------------------------------------------------------------------

    async def on_saved(
        self, entry_point: EntryPoint, credentials: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Register the webhook with its secret; refuse the entry point if Telegram does."""
        secret = credentials.get("webhook_secret") or secrets.token_urlsafe(32)
        if not SECRET_PATTERN.fullmatch(secret):
            raise Invalid("webhook_secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
                          field="credentials.webhook_secret")
        try:
            bot = self.bot(credentials["token"])
        except TokenValidationError:
            raise Invalid("this is not a Telegram bot token (expected <digits>:<text>)",
                          field="credentials.token") from None
        try:
            await bot.set_webhook(url=self.webhook_url(entry_point), secret_token=secret,
                                  allowed_updates=ALLOWED_UPDATES)
        except TelegramUnauthorizedError:
            raise Invalid("Telegram refused the bot token", field="credentials.token") from None
        except AiogramError as error:
            detail = (getattr(error, "message", None) or str(error)).replace(bot.token, "<token>")
            raise Invalid(Words(
                "Telegram did not register the webhook %(webhook_url)s: %(detail)s",
                webhook_url=self.webhook_url(entry_point), detail=detail)) from None
        return {"webhook_secret": secret}

    # -- inbound ---------------------------------------------------------------------------

    async def verify(
        self, request: WebhookRequest, entry_point: EntryPoint, credentials: Mapping[str, Any]
    ) -> None:
        given = header(request.headers, SECRET_HEADER)
        if not given:
            raise WebhookRefused(f"no {SECRET_HEADER} header", status=401)
        expected = str(credentials.get("webhook_secret") or "")
        if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
            raise WebhookRefused(f"wrong {SECRET_HEADER}", status=403)
        try:
            self._verified[entry_point.id] = self.bot(str(credentials.get("token", "")))
        except TokenValidationError:
            raise WebhookRefused("the entry point has no valid bot token", status=403) from None

    def parse(self, request: WebhookRequest, entry_point: EntryPoint) -> WebhookResult:
        bot = self._verified.get(entry_point.id)
        raw = load_json(request.body)
        if not isinstance(raw, dict):
            raise MalformedPayload("a Telegram update is a JSON object")
        try:
            update = Update.model_validate(raw, context={"bot": bot})
        except ValidationError as error:
            raise MalformedPayload(f"not a Telegram update: {error.errors()[0]['msg']}") from None
        result = WebhookResult()
        provider_id = str(update.update_id)
        if update.message is not None:
            inbound = self._from_message(update.message, entry_point, provider_id)
            if inbound is not None:
                result.inbound.append(inbound)
        elif update.callback_query is not None:
            query = update.callback_query
            result.inbound.append(self._from_callback(query, entry_point, provider_id))
            if bot is not None:
                result.after_persist.append(self._answer_later(bot, query.id))
        return result

    @staticmethod
    def _from_message(
        message: Message, entry_point: EntryPoint, provider_id: str
    ) -> Inbound | None:
        text = message.text if message.text is not None else message.caption
        media = media_of(message)
        if text is None and not media:  # stickers, service messages: nothing a tree reads
            return None
        return Inbound(
            channel=Channel.telegram, entry_point_id=entry_point.id,
            contact=str(message.chat.id), provider_id=provider_id, text=text or "",
            media=media,
            contact_name=display_name(message.from_user),
            locale=message.from_user.language_code if message.from_user else None,
        )

    @staticmethod
    def _from_callback(query: CallbackQuery, entry_point: EntryPoint,
                       provider_id: str) -> Inbound:
        """A button press: its data is the payload, its label the text (both select)."""
        data = query.data or ""
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        label = None
        markup = getattr(query.message, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            label = next((button.text for row in markup.inline_keyboard for button in row
                          if button.callback_data == data), None)
        return Inbound(
            channel=Channel.telegram, entry_point_id=entry_point.id, contact=str(chat),
            provider_id=provider_id, text=label if label is not None else data,
            payload=data, contact_name=display_name(query.from_user),
            locale=query.from_user.language_code,
        )

    def _answer_later(self, bot: Bot, query_id: str) -> Callable[[], Awaitable[None]]:
        """``answerCallbackQuery`` once the press is stored, in a task this connector owns
        (so shut-down waits for it and a failure is logged, not lost)."""

        async def answer() -> None:
            task = asyncio.get_running_loop().create_task(self._answer(bot, query_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return answer

    @staticmethod
    async def _answer(bot: Bot, query_id: str) -> None:
        try:
            await bot.answer_callback_query(callback_query_id=query_id)
        except AiogramError as error:  # the button stops spinning on its own after a while
            log.warning("answerCallbackQuery %s failed: %s", query_id, error)

    # -- outbound --------------------------------------------------------------------------

    async def send(self, event: Event, context: SendContext) -> str:
        """Text (cut at 4096 characters), a photo when there is a media URL, choices as
        an inline keyboard on the last message; the last message's id."""
        token = str(context.credentials.get("token", ""))
        try:
            bot = self.bot(token)
        except TokenValidationError:
            raise BadCredentials("the entry point has no valid bot token") from None
        text = str(event.data.get("text") or "")
        media_url = event.data.get("media_url")
        choices = [OutboundChoice.model_validate(item) for item in event.data.get("choices", [])]
        markup = keyboard(choices) if choices else None
        target = chat_id(event.contact or "")
        parts: list[tuple[str, str | None]] = []  # ("photo", caption) or ("text", text)
        if media_url:
            fits = len(text) <= CAPTION_LIMIT
            parts.append(("photo", text if fits and text else None))
            text = "" if fits else text
        parts += [("text", chunk) for chunk in text_chunks(text, TEXT_LIMIT)]
        if not parts:
            raise Rejected("nothing to send: the message has no text and no media")
        sent = 0  # the last message's id
        try:
            for index, (kind, content) in enumerate(parts):
                reply_markup = markup if index == len(parts) - 1 else None
                if kind == "photo" and event.data.get("media_kind", "image") != "image":
                    # a document, a sound, a video: sent as a file the chat can open
                    sent = (await bot.send_document(
                        chat_id=target, document=str(media_url), caption=content,
                        reply_markup=reply_markup)).message_id
                elif kind == "photo":
                    sent = (await bot.send_photo(
                        chat_id=target, photo=str(media_url), caption=content,
                        reply_markup=reply_markup)).message_id
                elif reply_markup is None:
                    sent = await send_text(bot, target, content or "")
                else:
                    sent = (await bot.send_message(
                        chat_id=target, text=content or "",
                        reply_markup=reply_markup)).message_id
        except (TelegramAPIError, ClientDecodeError) as error:
            raise send_error(error, token) from None
        return str(sent)
