"""Actions that ask a stored survey's questions and keep the answers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import Reference, TimeoutSeconds


@register
class Survey(ActionType):
    """Measures satisfaction: asks each question of a survey and stores the answers."""

    type = "survey"
    branches = ("completed", "abandoned")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        """``timeout_seconds`` is the wait for each answer before the survey is abandoned."""

        model_config = ConfigDict(extra="forbid")

        survey: Reference
        timeout_seconds: TimeoutSeconds = 3_600
