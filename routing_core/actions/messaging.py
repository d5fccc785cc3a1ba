"""Actions that talk with the contact on the interaction's channel."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import (
    Choice,
    Pattern,
    RequiredTemplate,
    Retries,
    Template,
    TimeoutSeconds,
    VariableName,
    ensure_unique,
    folded,
    invalid,
)
from routing_core.actions.translations import (
    ChoiceTranslations,
    MessageTranslations,
    QuestionTranslations,
    check_choice_labels,
    in_language,
    translation_for,
)
from routing_core.expressions.templates import is_template
from routing_core.expressions.values import (
    MAX_INPUT,
    bounded_match,
    is_email,
    normalise_phone,
    parse_date,
    parse_number,
)
from routing_core.model.interaction import OutboundChoice
from routing_core.model.media import Media, MediaKind

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext


@register
class Message(ActionType):
    """Says something to the contact without waiting for an answer."""

    type = "message"
    title = "Simple message"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: Template = ""
        media_url: Template | None = None
        media_urls: Annotated[list[Template], Field(
            max_length=10, description="More images or files, each sent after the text")] = []
        translations: MessageTranslations = []

        @model_validator(mode="after")
        def _says_something(self) -> Self:
            if not self.text and not self.media_url and not self.media_urls:
                raise invalid("a message needs a text or a media_url")
            for written in [self.media_url or "", *self.media_urls]:
                if written and not is_template(written) and not is_web_address(written):
                    raise invalid("media_url must be an http:// or https:// address")
            return self

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        """The text with the first media, then each further media on its own: every
        channel carries one media per message, and each is retried on its own."""
        media = []
        for written in [params.media_url, *params.media_urls]:
            url = ctx.render(written).strip() if written else ""
            if url and not is_web_address(url):  # a template gave something else
                ctx.emit("error", message="media_url must be an http:// or https:// "
                         "address; the message went without it")
            elif url:
                media.append(url)
        text = in_language(translation_for(params.translations, ctx), "text", params.text)
        ctx.send(ctx.render(text), media_url=media[0] if media else None)
        for url in media[1:]:
            ctx.send("", media_url=url)
        return Outcome.follow("next")


def is_web_address(url: str) -> bool:
    """Only web addresses reach a page or a provider (never ``javascript:``, ``data:``…)."""
    return url.lower().startswith(("http://", "https://")) and len(url) > len("https://")


@register
class MessageWait(ActionType):
    """Asks a question and keeps the validated answer in a variable."""

    type = "message_wait"
    title = "Message awaiting response"
    branches = ("answered", "invalid", "timeout")
    waits: ClassVar[bool] = True

    @classmethod
    def answered_branches(cls, params: BaseModel) -> list[str]:
        return ["answered"]

    class Params(BaseModel):
        """``pattern`` is the regular expression a reply must match when ``validate`` is regex.

        ``validate`` is read into ``validation``: pydantic's ``BaseModel.validate`` holds the name.
        """

        model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

        text: RequiredTemplate
        into: VariableName
        validation: Literal["any", "number", "email", "phone", "date", "regex", "media",
                            "location"] = Field("any", alias="validate")
        pattern: Pattern | None = Field(None, validate_default=True)
        retries: Retries = 1
        retry_text: Template = ""
        timeout_seconds: TimeoutSeconds = 3_600
        translations: QuestionTranslations = []

        @field_validator("pattern")
        @classmethod
        def _pattern_for_regex(cls, pattern: str | None, info: ValidationInfo) -> str | None:
            if info.data.get("validation") == "regex" and pattern is None:
                raise invalid("required when validate is regex")
            return pattern

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        if ctx.trigger == "timeout":
            return Outcome.follow("timeout")
        until = ctx.now + timedelta(seconds=params.timeout_seconds)
        translation = translation_for(params.translations, ctx)
        text = in_language(translation, "text", params.text)
        if ctx.trigger == "run":
            ctx.send(ctx.render(text))
            return Outcome.wait_for_reply(until, tries=0)
        answer = accepted_answer(params, ctx.message.text if ctx.message else "",
                                 ctx.message.media if ctx.message else [])
        if answer is not None:
            ctx.set_variable(params.into, answer)
            return Outcome.follow("answered")
        tries = int(ctx.memory.get("tries", 0)) + 1
        if tries > params.retries:
            return Outcome.follow("invalid")
        retry = in_language(translation, "retry_text", params.retry_text)
        ctx.send(ctx.render(retry or text))
        return Outcome.wait_for_reply(until, tries=tries)


def accepted_answer(params: MessageWait.Params, text: str, media: list[Media]) -> Any:
    """The stored form of a valid answer, or None when the answer is not valid. A file
    (``media``) is kept as what it is (kind, type, name, size) and a place as its
    coordinates: the file itself is shown to people through the conversation."""
    if params.validation == "location":
        place = next((item for item in media if item.kind is MediaKind.location), None)
        return None if place is None else place.model_dump(
            include={"latitude", "longitude", "name"}, exclude_none=True)
    if params.validation == "media":
        files = [item.model_dump(include={"kind", "content_type", "name", "size"},
                                 exclude_none=True, mode="json")
                 for item in media if item.kind is not MediaKind.location]
        return files or None
    text = text.strip()[:MAX_INPUT]
    if not text:
        return None
    match params.validation:
        case "number":
            return parse_number(text)
        case "email":
            return text.lower() if is_email(text) else None
        case "phone":
            return normalise_phone(text)
        case "date":
            day = parse_date(text)
            return day.isoformat() if day else None
        case "regex":
            return text if bounded_match(params.pattern or "", text, full=True) else None
    return text


@register
class MessageChoice(ActionType):
    """Offers a few answers, rendered as buttons or a numbered list, each with its branch."""

    type = "message_choice"
    title = "Message with choice"
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: RequiredTemplate
        choices: Annotated[list[Choice], Field(min_length=1, max_length=20)]
        timeout_seconds: TimeoutSeconds = 3_600
        retries: Retries = 1
        translations: ChoiceTranslations = []

        @field_validator("choices")
        @classmethod
        def _distinct_choices(cls, choices: list[Choice]) -> list[Choice]:
            ensure_unique((choice.value for choice in choices), "value")
            ensure_unique((choice.branch for choice in choices), "branch")
            # A typed label selects its choice, case and accents ignored: labels must differ so.
            ensure_unique((folded(choice.label) for choice in choices), "label")
            return choices

        @model_validator(mode="after")
        def _labels_per_choice(self) -> Self:
            check_choice_labels(self.translations, len(self.choices))
            return self

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        assert isinstance(params, cls.Params)
        return [choice.branch for choice in params.choices] + ["no_match", "timeout"]

    @classmethod
    def answered_branches(cls, params: BaseModel) -> list[str]:
        assert isinstance(params, cls.Params)
        return [choice.branch for choice in params.choices]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        if ctx.trigger == "timeout":
            return Outcome.follow("timeout")
        until = ctx.now + timedelta(seconds=params.timeout_seconds)
        translation = translation_for(params.translations, ctx)
        labels = labels_in_language(params.choices, translation)
        if ctx.trigger == "reply":
            chosen = chosen_choice(params.choices, ctx, labels)
            if chosen is not None:
                ctx.emit("choice", value=chosen.value, label=ctx.render(chosen.label))
                return Outcome.follow(chosen.branch)
            tries = int(ctx.memory.get("tries", 0)) + 1
            if tries > params.retries:
                return Outcome.follow("no_match")
        else:
            tries = 0
        offered = [
            OutboundChoice(label=ctx.render(label), value=choice.value)
            for choice, label in zip(params.choices, labels, strict=True)
        ]
        ctx.send(ctx.render(in_language(translation, "text", params.text)), choices=offered)
        return Outcome.wait_for_reply(until, tries=tries)


def labels_in_language(choices: list[Choice], translation: Any) -> list[str]:
    """The choices' labels in the contact's language (the typed ones where none)."""
    translated = list(getattr(translation, "choices", None) or [])
    return translated if len(translated) == len(choices) else [c.label for c in choices]


def chosen_choice(choices: list[Choice], ctx: RunContext,
                  labels: list[str] | None = None) -> Choice | None:
    """A button's payload, the choice's number, or its label (as typed in the routing or
    as offered in the contact's language) or value typed (case and accents ignored)."""
    message = ctx.message
    if message is None:
        return None
    if message.payload is not None:
        for choice in choices:
            if choice.value == message.payload:
                return choice
    typed = folded(message.text[:MAX_INPUT])
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return choices[int(typed) - 1]
    offered = labels or [choice.label for choice in choices]
    for choice, label in zip(choices, offered, strict=True):
        if typed in (folded(ctx.render(choice.label)), folded(ctx.render(label)),
                     folded(choice.value)):
            return choice
    return None
