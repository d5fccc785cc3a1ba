"""The texts of message actions in other languages.

A routing is written in its default language; each message action may carry the same
texts in other languages. The contact's language (``contact.language``: from the
channel's locale when it gives one, or set by an action) picks the translation — exactly
("pt-BR"), else by its first part ("pt") — and a text left blank in it, or no
translation at all, falls back to the text as typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from routing_core.actions.params import Template, ensure_unique, invalid, matching

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

LanguageCode = Annotated[str, matching(
    r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?",
    "a language is a code such as fr, en or pt-BR")]
ChoiceLabel = Annotated[str, Field(min_length=1, max_length=100)]


class Translation(BaseModel):
    """One language's texts of a message."""

    model_config = ConfigDict(extra="forbid")

    language: LanguageCode
    text: Template = ""


class QuestionTranslation(Translation):
    retry_text: Template = ""


class ChoiceTranslation(Translation):
    choices: Annotated[list[ChoiceLabel], Field(
        max_length=20, description="The choices' labels, in the order of the choices")] = []


def distinct_languages(translations: list[Any]) -> list[Any]:
    ensure_unique((item.language.lower() for item in translations), "language")
    return translations


# The ``translations`` parameter of each kind of message action.
MessageTranslations = Annotated[list[Translation], Field(max_length=30),
                                AfterValidator(distinct_languages)]
QuestionTranslations = Annotated[list[QuestionTranslation], Field(max_length=30),
                                 AfterValidator(distinct_languages)]
ChoiceTranslations = Annotated[list[ChoiceTranslation], Field(max_length=30),
                               AfterValidator(distinct_languages)]


def language_of(ctx: RunContext) -> str | None:
    """The contact's language as a lower-case code, if known."""
    language = ctx.interaction.contact_variables.get("language")
    return language.strip().lower() if isinstance(language, str) and language.strip() else None


def translation_for(translations: list[Any], ctx: RunContext) -> Any:
    """The translation in the contact's language (exactly, else its first part), if any."""
    language = language_of(ctx)
    if not language or not translations:
        return None
    by_language = {item.language.lower(): item for item in translations}
    return by_language.get(language) or by_language.get(language.split("-")[0])


def in_language(translation: Any, name: str, default: str) -> str:
    """The translated text ``name``, or the text as typed when it is blank or missing."""
    translated = getattr(translation, name, "") if translation is not None else ""
    return translated or default


def check_choice_labels(translations: list[ChoiceTranslation], count: int) -> None:
    for item in translations:
        if item.choices and len(item.choices) != count:
            raise invalid(f"the {item.language} translation has {len(item.choices)} choice "
                          f"label(s) for {count} choice(s): give one per choice, in order")
