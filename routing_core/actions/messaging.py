"""Actions that talk with the contact on the interaction's channel."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from routing_core.actions.base import ActionType, register
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


@register
class Message(ActionType):
    """Says something to the contact without waiting for an answer."""

    type = "message"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: Template = ""
        media_url: Template | None = None

        @model_validator(mode="after")
        def _says_something(self) -> Self:
            if not self.text and not self.media_url:
                raise invalid("a message needs a text or a media_url")
            return self


@register
class MessageWait(ActionType):
    """Asks a question and keeps the validated answer in a variable."""

    type = "message_wait"
    branches = ("answered", "invalid", "timeout")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        """``pattern`` is the regular expression a reply must match when ``validate`` is regex.

        ``validate`` is read into ``validation``: pydantic's ``BaseModel.validate`` holds the name.
        """

        model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

        text: RequiredTemplate
        into: VariableName
        validation: Literal["any", "number", "email", "phone", "date", "regex"] = Field(
            "any", alias="validate"
        )
        pattern: Pattern | None = Field(None, validate_default=True)
        retries: Retries = 1
        retry_text: Template = ""
        timeout_seconds: TimeoutSeconds = 3_600

        @field_validator("pattern")
        @classmethod
        def _pattern_for_regex(cls, pattern: str | None, info: ValidationInfo) -> str | None:
            if info.data.get("validation") == "regex" and pattern is None:
                raise invalid("required when validate is regex")
            return pattern


@register
class MessageChoice(ActionType):
    """Offers a few answers, rendered as buttons or a numbered list, each with its branch."""

    type = "message_choice"
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: RequiredTemplate
        choices: Annotated[list[Choice], Field(min_length=1, max_length=20)]
        timeout_seconds: TimeoutSeconds = 3_600
        retries: Retries = 1

        @field_validator("choices")
        @classmethod
        def _distinct_choices(cls, choices: list[Choice]) -> list[Choice]:
            ensure_unique((choice.value for choice in choices), "value")
            ensure_unique((choice.branch for choice in choices), "branch")
            # A typed label selects its choice, case and accents ignored: labels must differ so.
            ensure_unique((folded(choice.label) for choice in choices), "label")
            return choices

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        assert isinstance(params, cls.Params)
        return [choice.branch for choice in params.choices] + ["no_match", "timeout"]
