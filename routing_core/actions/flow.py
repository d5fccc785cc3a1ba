"""Actions that shape the tree itself: start, junctions, milestones, pauses, load sharing."""

from __future__ import annotations

from typing import ClassVar

from routing_core.actions.base import ActionType, register


@register
class Start(ActionType):
    """The root of every tree: created with the version, never deleted or copied."""

    type = "start"
    fixed: ClassVar[bool] = True


@register
class Node(ActionType):
    """A junction: lets several branches meet and loops be drawn."""

    type = "node"
