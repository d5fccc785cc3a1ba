"""The tree drawn as connected boxes, from Start downwards, computed on the server.

A depth-first walk from Start draws each action once; a branch leading to an action already
drawn (a loop, or a junction ``node`` met again) becomes a "goes to" link instead of a second
box, and an unlinked branch a small end mark (the place to add an action in the editor).
Actions that Start cannot reach are drawn after it as separate trees. The walk and the
placement are iterative, so a 1000-action chain costs no recursion; the result is flat
lists of boxes, edges and marks that the template turns into SVG.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from admin.pages.catalogue import action_title, summary, type_info
from routing_core.model.tree import Action, Tree

BOX_WIDTH, BOX_HEIGHT = 220, 66
GOTO_WIDTH, MARK_WIDTH, MARK_HEIGHT = 180, 132, 30
H_GAP, V_GAP, MARGIN, TREE_GAP = 24, 68, 24, 64
ROW = BOX_HEIGHT + V_GAP


@dataclass
class Slot:
    """One drawn item: an action box, a "goes to" link, or the end of a branch."""

    kind: str  # action | goto | end
    action: Action | None
    parent: Slot | None = None
    branch: str | None = None
    depth: int = 0
    children: list[Slot] = field(default_factory=list)
    span: float = 0.0  # width of a root's whole drawing
    left: float = 0.0  # left edge of a root's whole drawing
    x: float = 0.0  # centre of the item
    y: float = 0.0  # top of the item

    @property
    def width(self) -> float:
        return {"action": BOX_WIDTH, "goto": GOTO_WIDTH}.get(self.kind, MARK_WIDTH)

    @property
    def height(self) -> float:
        return BOX_HEIGHT if self.kind == "action" else MARK_HEIGHT


@dataclass
class Box:
    id: str
    x: float
    y: float
    type_title: str
    category: str
    title: str
    summary: str
    record_passage: bool
    is_start: bool
    detached: bool


@dataclass
class Edge:
    path: str
    label: str
    label_x: float
    label_y: float
    after: str  # the action the branch leaves
    branch: str
    before: str | None  # the action it leads to (None: the branch ends there)
    plus_x: float
    plus_y: float


@dataclass
class Mark:
    kind: str  # goto | end
    x: float
    y: float
    after: str
    branch: str
    target: str | None = None
    target_title: str = ""


@dataclass
class Drawing:
    width: float
    height: float
    boxes: list[Box]
    edges: list[Edge]
    marks: list[Mark]
    detached_labels: list[tuple[float, float]]
    # the same walk as an indented list: a large tree is read and travelled through it
    outline: list[OutlineRow] = field(default_factory=list)


@dataclass
class OutlineRow:
    depth: int
    kind: str  # action | goto
    action_id: str
    title: str
    branch: str  # the branch of the parent that leads here ("" for a root)


def _roots(tree: Tree, reached: set[str]) -> list[str]:
    """Start, then the unreachable actions nothing else unreachable leads to, then the rest."""
    rest = [action for action in tree.actions if action.id not in reached]
    entered = {target for action in rest for target in action.next.values() if target}
    heads = [action.id for action in rest if action.id not in entered]
    return heads + [action.id for action in rest if action.id not in heads]


def _walk(tree: Tree) -> list[Slot]:
    """Depth-first, branches in their declared order; every slot, parents before children."""
    actions = tree.by_id()
    drawn: set[str] = set()
    slots: list[Slot] = []
    pending_roots = [tree.start] if tree.start in actions else []
    while True:
        if not pending_roots:
            pending_roots = [root for root in _roots(tree, drawn) if root not in drawn][:1]
            if not pending_roots:
                return slots
        root_id = pending_roots.pop(0)
        if root_id in drawn:
            continue
        root = Slot("action", actions[root_id])
        drawn.add(root_id)
        slots.append(root)
        stack = [(root, iter(list(actions[root_id].next.items())))]
        while stack:
            slot, branches = stack[-1]
            item = next(branches, None)
            if item is None:
                stack.pop()
                continue
            branch, target = item
            if target is None or target not in actions:
                child = Slot("end", None, slot, branch, slot.depth + 1)
            elif target in drawn:
                child = Slot("goto", actions[target], slot, branch, slot.depth + 1)
            else:
                drawn.add(target)
                child = Slot("action", actions[target], slot, branch, slot.depth + 1)
                stack.append((child, iter(list(actions[target].next.items()))))
            slot.children.append(child)
            slots.append(child)


def _place(slots: list[Slot]) -> list[Slot]:
    """A tidy layout (Reingold-Tilford style): subtrees side by side, pushed apart only as
    far as their outlines (per-depth left and right edges) need, so side branches tuck in
    next to a long main path instead of widening the whole drawing. Each parent sits above
    its largest child, which keeps the main path a straight line. Returns the roots."""
    size: dict[int, int] = {}
    outline: dict[int, list[tuple[float, float]]] = {}
    offset: dict[int, float] = {}  # a child's centre relative to its parent's
    for slot in reversed(slots):  # children before their parents
        size[id(slot)] = 1 + sum(size[id(child)] for child in slot.children)
        half = slot.width / 2
        if not slot.children:
            outline[id(slot)] = [(-half, half)]
            continue
        merged: list[tuple[float, float]] = []
        positions: list[float] = []
        for child in slot.children:
            shape = outline.pop(id(child))
            shift = max(
                (merged[depth][1] + H_GAP - shape[depth][0]
                 for depth in range(min(len(merged), len(shape)))),
                default=0.0,
            )
            positions.append(shift)
            for depth, (low, high) in enumerate(shape):
                if depth < len(merged):
                    merged[depth] = (min(merged[depth][0], low + shift),
                                     max(merged[depth][1], high + shift))
                else:
                    merged.append((low + shift, high + shift))
        heaviest = max(range(len(slot.children)), key=lambda i: size[id(slot.children[i])])
        anchor = positions[heaviest]
        for child, position in zip(slot.children, positions, strict=True):
            offset[id(child)] = position - anchor
        outline[id(slot)] = [(-half, half)] + [(low - anchor, high - anchor)
                                               for low, high in merged]
    roots = [slot for slot in slots if slot.parent is None]
    cursor = float(MARGIN)
    for root in roots:
        shape = outline[id(root)]
        low = min(edge[0] for edge in shape)
        high = max(edge[1] for edge in shape)
        root.left, root.span = cursor, high - low
        root.x = cursor - low
        cursor += high - low + TREE_GAP
    for slot in slots:  # parents before their children
        if slot.parent is not None:
            slot.x = slot.parent.x + offset[id(slot)]
        slot.y = MARGIN + 28 + slot.depth * ROW
    return roots


def _edge(parent: Slot, child: Slot, labelled: bool) -> Edge:
    assert parent.action is not None
    top = parent.y + BOX_HEIGHT
    bend = top + 22
    bottom = child.y
    path = f"M{parent.x:.1f},{top:.1f} V{bend:.1f} H{child.x:.1f} V{bottom:.1f}"
    return Edge(
        path=path,
        label=(child.branch or "") if labelled else "",
        label_x=child.x + 8,
        label_y=bend + 18,
        after=parent.action.id,
        branch=child.branch or "",
        before=child.action.id if child.action is not None else None,
        plus_x=child.x,
        plus_y=bottom - 14,
    )


def draw(tree: Tree) -> Drawing:
    slots = _walk(tree)
    roots = _place(slots)
    boxes: list[Box] = []
    edges: list[Edge] = []
    marks: list[Mark] = []
    detached = {id(root) for root in roots if root.action and root.action.id != tree.start}
    for slot in slots:
        if slot.parent is not None:
            parent_action = slot.parent.action
            assert parent_action is not None
            labelled = len(parent_action.next) > 1 or slot.branch != "next"
            edges.append(_edge(slot.parent, slot, labelled))
        if slot.kind == "action":
            action = slot.action
            assert action is not None
            info = type_info(action.type)
            # An unnamed action is titled by what it does: no need to say it twice.
            title, said = action_title(action), summary(action) if action.name else ""
            boxes.append(Box(
                id=action.id,
                x=slot.x - BOX_WIDTH / 2,
                y=slot.y,
                type_title=info.title,
                category=info.category,
                title=title,
                summary=said,
                record_passage=action.record_passage,
                is_start=action.id == tree.start,
                detached=id(slot) in detached,
            ))
        else:
            assert slot.parent is not None and slot.parent.action is not None
            marks.append(Mark(
                kind=slot.kind,
                x=slot.x - slot.width / 2,
                y=slot.y,
                after=slot.parent.action.id,
                branch=slot.branch or "",
                target=slot.action.id if slot.action else None,
                target_title=action_title(slot.action) if slot.action else "",
            ))
    outline: list[OutlineRow] = []
    for slot in slots:
        if slot.kind == "end" or slot.action is None:
            continue  # an unlinked branch: nothing to read or go to
        parent = slot.parent.action if slot.parent is not None else None
        named = parent is not None and (len(parent.next) > 1 or slot.branch != "next")
        outline.append(OutlineRow(slot.depth, slot.kind, slot.action.id,
                                  action_title(slot.action), (slot.branch or "") if named else ""))
    depth = max((slot.depth for slot in slots), default=0)
    width = max((root.left + root.span for root in roots), default=BOX_WIDTH) + MARGIN
    labels = [(root.left, float(MARGIN + 14)) for root in roots if id(root) in detached]
    return Drawing(
        width=width,
        height=MARGIN * 2 + 28 + depth * ROW + BOX_HEIGHT,
        boxes=boxes,
        edges=edges,
        marks=marks,
        detached_labels=labels,
        outline=outline,
    )
