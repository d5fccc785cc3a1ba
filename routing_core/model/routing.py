"""Smart routings and their versions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from routing_core.model.base import Timestamped
from routing_core.model.tree import Tree


class RoutingType(StrEnum):
    start = "start"  # runs when an interaction starts on an entry point
    end = "end"  # runs when an interaction ends


class VersionStatus(StrEnum):
    development = "development"
    production = "production"
    backup = "backup"


class SmartRouting(Timestamped):
    name: str
    reference: str
    description: str = ""
    type: RoutingType
    revision: int = 0  # +1 at each save of its details: a stale form's save is refused


class Version(Timestamped):
    """A tree of one routing with its lifecycle state; ``revision`` guards concurrent edits."""

    routing_id: str
    name: str
    description: str = ""
    status: VersionStatus = VersionStatus.development
    in_test: bool = False
    scheduled_at: datetime | None = None
    scheduled_date: str | None = None
    revision: int = 1
    tree: Tree = Field(default_factory=Tree.blank)
    production_at: datetime | None = None


class TreeEdit(Timestamped):
    """One saved edit of a development version's tree, kept so it can be undone and redone
    (the newest ``TREE_EDITS_KEPT`` per version). ``seq`` is the version's revision the edit
    produced; the edits after an undo are ``undone`` until redone or replaced by a new edit.
    """

    version_id: str
    seq: int
    what: str  # add, update, delete, link…
    label: str = ""  # what people read: "add Ask tea or coffee"
    before: Tree
    after: Tree
    undone: bool = False
    actor: str = ""


TREE_EDITS_KEPT = 50
