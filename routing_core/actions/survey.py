"""Actions that ask a stored survey's questions and keep the answers.

``survey`` reads the survey through ``ctx.ports.extra["surveys"]``
(``routing_core.model.surveys.SurveysPort``) when it is reached and keeps the questions
in its wait's memory, so a survey edited meanwhile does not change one being answered.
Each question is asked in turn: a rating (1–5), yes/no or choice question offers its
answers as choices, an NPS question (0–10) and a free text question wait for a typed
answer. An answer that does not fit is asked again once (after the survey's
``retry_text``); a second one that does not fit leaves the question unanswered. Each
answer goes to the variable ``survey.<question id>``; all of them, at the end, to
``survey_answers``, as ``completed``, or ``abandoned`` when a wait times out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.cases import port, step_key
from routing_core.actions.params import Reference, TimeoutSeconds, folded
from routing_core.expressions.values import MAX_INPUT, parse_number
from routing_core.model.interaction import OutboundChoice
from routing_core.model.surveys import NPS_SCALE, RATING_SCALE, SurveysPort

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

YES = frozenset({"yes", "y", "oui", "si", "ja", "sim", "ok"})
NO = frozenset({"no", "n", "non", "nein", "nao"})
YES_NO = [OutboundChoice(label="Yes", value="yes"), OutboundChoice(label="No", value="no")]


def surveys_port(ctx: RunContext) -> SurveysPort:
    return cast(SurveysPort, port(ctx, "surveys", "surveys"))


def offered(question: dict[str, Any]) -> list[OutboundChoice]:
    """The answers offered as buttons (or a numbered list where buttons do not fit)."""
    match question["kind"]:
        case "rating":
            return [OutboundChoice(label=str(value), value=str(value)) for value in RATING_SCALE]
        case "yes_no":
            return list(YES_NO)
        case "choice":
            return [OutboundChoice(label=choice, value=choice) for choice in question["choices"]]
    return []


def accepted(question: dict[str, Any], text: str, payload: str | None) -> Any:
    """The stored answer (a number, a boolean, the choice, the text), or None if it does not
    fit: a pressed button's value, a choice's number or label, a number in the scale."""
    typed = payload if payload is not None else text.strip()[:MAX_INPUT]
    match question["kind"]:
        case "rating" | "nps":
            scale = RATING_SCALE if question["kind"] == "rating" else NPS_SCALE
            number = parse_number(typed)
            return number if isinstance(number, int) and number in scale else None
        case "yes_no":
            word = folded(typed)
            if word in YES or word == "1":
                return True
            return False if word in NO or word == "2" else None
        case "choice":
            return chosen(question["choices"], folded(typed))
    return typed or None


def chosen(choices: list[str], typed: str) -> str | None:
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return choices[int(typed) - 1]
    return next((choice for choice in choices if folded(choice) == typed), None)


@register
class Survey(ActionType):
    """Measures satisfaction: asks each question of a survey and stores the answers."""

    type = "survey"
    title = "Survey"
    branches = ("completed", "abandoned")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        """``timeout_seconds`` is the wait for each answer before the survey is abandoned."""

        model_config = ConfigDict(extra="forbid")

        survey: Reference
        timeout_seconds: TimeoutSeconds = 3_600

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        if ctx.trigger == "run":
            survey = await surveys_port(ctx).survey(params.survey)
            return self._ask(params, ctx, survey, index=0, tries=0, answers={})
        survey = ctx.memory["survey"]
        index, answers = int(ctx.memory.get("index", 0)), dict(ctx.memory.get("answers", {}))
        if ctx.trigger == "timeout":
            return await self._finish(ctx, survey, answers, "abandoned")
        if ctx.trigger != "reply":  # a signal is not an answer: keep waiting
            return Outcome.wait_for_reply(ctx.now + timedelta(seconds=params.timeout_seconds),
                                          **ctx.memory)
        question = survey["questions"][index]
        message = ctx.message
        answer = accepted(question, message.text if message else "",
                          message.payload if message else None)
        if answer is None:
            tries = int(ctx.memory.get("tries", 0)) + 1
            if tries <= 1:
                if survey.get("retry_text"):
                    ctx.send(survey["retry_text"])
                return self._ask(params, ctx, survey, index=index, tries=tries, answers=answers)
        else:
            answers[question["id"]] = answer
            ctx.set_variable(f"survey.{question['id']}", answer)
        if index + 1 < len(survey["questions"]):
            return self._ask(params, ctx, survey, index=index + 1, tries=0, answers=answers)
        return await self._finish(ctx, survey, answers, "completed")

    @staticmethod
    def _ask(
        params: Params, ctx: RunContext, survey: dict[str, Any], *, index: int, tries: int,
        answers: dict[str, Any],
    ) -> Outcome:
        question = survey["questions"][index]
        ctx.send(question["text"], choices=offered(question) or None)
        until = ctx.now + timedelta(seconds=params.timeout_seconds)
        return Outcome.wait_for_reply(until, survey=survey, index=index, tries=tries,
                                      answers=answers)

    @staticmethod
    async def _finish(
        ctx: RunContext, survey: dict[str, Any], answers: dict[str, Any], status: str
    ) -> Outcome:
        await surveys_port(ctx).record(
            key=step_key(ctx), survey_id=survey["id"], survey_name=survey["name"],
            interaction_id=ctx.interaction.id, contact_id=ctx.interaction.contact_id,
            status=status, answers=answers, at=ctx.now,
        )
        ctx.emit(f"survey_{status}", survey=survey["name"], answers=answers)
        return Outcome.follow(status)
