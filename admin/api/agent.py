"""The logged-in agent's own view: status, conversations, replies, transfers, ends, tasks.

The agent console (``/agent``) uses exactly these endpoints; other front ends can too.
Every route needs the ``agent:console`` permission (the built-in ``agent`` role).
"""

from __future__ import annotations

from quart import Blueprint, request
from quart_schema import validate_request, validate_response

from admin.api.queues import agent_desk, distribution
from admin.context import actor, authenticated_user, require, services
from admin.schemas.agent_tasks import AgentTaskList, AgentTaskOut
from admin.schemas.queues import (
    AgentContextOut,
    AgentInteractionList,
    AgentInteractionOut,
    AgentMessageIn,
    AgentMessageOut,
    EndOut,
    NoteIn,
    NoteOut,
    StatusIn,
    StatusOut,
    TransferIn,
)
from routing_core.contact_centre.agent_context import context_of
from routing_core.contact_centre.agent_desk import HISTORY_LIMIT
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.media import MAX_UPLOAD_BYTES, MediaFile, kind_of, upload_refusal
from routing_core.model.tasks import Task, TaskStatus
from routing_core.model.users import AGENT_CONSOLE, AgentProfile, User

blueprint = Blueprint("api_agent", __name__, url_prefix="/api/agent")


async def me() -> User:
    user, _ = await authenticated_user()
    return user


async def _status(user: User) -> StatusOut:
    state = await distribution().agents.state_of(user.id)
    queues = await distribution().queues_of(user)
    return StatusOut(
        status=state.status, capacity=(user.agent or AgentProfile()).capacity,
        load=state.load, queues=sorted(queue.name for queue in queues),
        idle_since=state.idle_since,
    )


@blueprint.get("/status")
@require(AGENT_CONSOLE)
@validate_response(StatusOut)
async def get_status() -> StatusOut:
    return await _status(await me())


@blueprint.post("/status")
@require(AGENT_CONSOLE)
@validate_request(StatusIn)
@validate_response(StatusOut)
async def set_status(data: StatusIn) -> StatusOut:
    """``available`` receives conversations; ``away`` and ``offline`` keep the ones held."""
    user = await me()
    await distribution().set_status(user, data.status)
    return await _status(user)


@blueprint.get("/interactions")
@require(AGENT_CONSOLE)
@validate_response(AgentInteractionList)
async def my_interactions() -> AgentInteractionList:
    held = await agent_desk().conversations_of((await me()).id)
    return AgentInteractionList(
        items=[AgentInteractionOut.of(interaction, events) for interaction, events in held]
    )


@blueprint.get("/interactions/<interaction_id>")
@require(AGENT_CONSOLE)
@validate_response(AgentInteractionOut)
async def my_interaction(interaction_id: str) -> AgentInteractionOut:
    interaction = await agent_desk().held((await me()).id, interaction_id)
    events = await services().store.events.latest_of_interaction(interaction_id, HISTORY_LIMIT)
    return AgentInteractionOut.of(interaction, events)


@blueprint.post("/interactions/<interaction_id>/messages")
@require(AGENT_CONSOLE)
@validate_request(AgentMessageIn)
@validate_response(AgentMessageOut, 201)
async def send_message(interaction_id: str, data: AgentMessageIn) -> tuple[AgentMessageOut, int]:
    event = await agent_desk().send_message(await me(), interaction_id, data.text)
    return AgentMessageOut.of(event), 201


@blueprint.get("/interactions/<interaction_id>/context")
@require(AGENT_CONSOLE)
@validate_response(AgentContextOut)
async def context(interaction_id: str) -> AgentContextOut:
    """What the agent sees beside the conversation (404 unless it is theirs)."""
    user = await me()
    interaction = await agent_desk().held(user.id, interaction_id)
    found = await context_of(services().store, interaction, user)
    return AgentContextOut.model_validate(vars(found))


@blueprint.post("/interactions/<interaction_id>/files")
@require(AGENT_CONSOLE)
@validate_response(AgentMessageOut, 201)
async def send_file(interaction_id: str) -> tuple[AgentMessageOut, int]:
    """A file (multipart field ``file``, an optional ``text`` as its caption) sent to the
    customer: kept by us and sent by its signed address, which the provider fetches."""
    user = await me()
    await agent_desk().held(user.id, interaction_id)  # refused before anything is kept
    sent = (await request.files).get("file")
    if sent is None:
        raise Invalid("send the file as the multipart field 'file'", field="file")
    content_type = (sent.mimetype or "").lower()
    data = sent.read(MAX_UPLOAD_BYTES + 1)
    if (refusal := upload_refusal(content_type, len(data))) is not None:
        raise Invalid(refusal, field="file")
    text = str((await request.form).get("text") or "")[:1024]
    built = services()
    stored = await built.store.media_files.put(
        MediaFile(data, content_type, (sent.filename or "file")[-120:]),
        interaction=interaction_id, agent=user.id)
    event = await agent_desk().send_message(
        user, interaction_id, text, media_url=built.media_links.url(stored),
        media_kind=kind_of(content_type).value)
    return AgentMessageOut.of(event), 201


@blueprint.post("/interactions/<interaction_id>/typing")
@require(AGENT_CONSOLE)
async def typing(interaction_id: str) -> tuple[str, int]:
    """Show the customer that the agent is typing (the console calls it every few seconds
    while the agent types); 404 unless the conversation is theirs."""
    await agent_desk().typing(await me(), interaction_id)
    return "", 204


@blueprint.post("/interactions/<interaction_id>/notes")
@require(AGENT_CONSOLE)
@validate_request(NoteIn)
@validate_response(NoteOut, 201)
async def add_note(interaction_id: str, data: NoteIn) -> tuple[NoteOut, int]:
    """An internal note on the conversation: seen by colleagues, never sent."""
    event = await agent_desk().add_note(await me(), interaction_id, data.text)
    return NoteOut(id=event.id, at=event.at, text=data.text,
                   agent=str(event.data.get("agent_name", ""))), 201


@blueprint.post("/interactions/<interaction_id>/transfer")
@require(AGENT_CONSOLE)
@validate_request(TransferIn)
async def transfer(interaction_id: str, data: TransferIn) -> dict[str, str | None]:
    await agent_desk().transfer(await me(), interaction_id, queue=data.queue, user=data.user,
                                note=data.note)
    return {"id": interaction_id, "queue": data.queue, "user": data.user}


@blueprint.post("/interactions/<interaction_id>/end")
@require(AGENT_CONSOLE)
@validate_response(EndOut)
async def end(interaction_id: str) -> EndOut:
    """Ends the conversation; the entry point's interaction end routing runs next."""
    await agent_desk().end(await me(), interaction_id)
    ended = await services().store.interactions.get(interaction_id)
    return EndOut(id=ended.id, status=ended.status.value, end_reason=ended.end_reason)


# -- tasks ---------------------------------------------------------------------------------

async def _my_queue_refs(user: User) -> list[str]:
    """What a task assigned to one of the agent's queues names it by: its name (or its id)."""
    queues = await distribution().queues_of(user)
    return sorted({ref for queue in queues for ref in (queue.name, queue.id)})


def _mine(task: Task, user: User, queue_refs: list[str]) -> bool:
    assignee = task.assignee
    if assignee is None:
        return False
    if assignee.kind == "user":
        return assignee.ref == user.id
    return assignee.ref in queue_refs


@blueprint.get("/tasks")
@require(AGENT_CONSOLE)
@validate_response(AgentTaskList)
async def my_tasks() -> AgentTaskList:
    """Open tasks assigned to the agent or to one of the agent's queues, soonest due first."""
    user = await me()
    tasks = await services().tasks.of_agent(user.id, await _my_queue_refs(user))
    now = utcnow()
    return AgentTaskList(items=[AgentTaskOut.of(task, now) for task in tasks])


@blueprint.post("/tasks/<task_id>/done")
@require(AGENT_CONSOLE)
@validate_response(AgentTaskOut)
async def task_done(task_id: str) -> AgentTaskOut:
    """Marks one of the agent's tasks done (audited); 404 for a task the agent cannot see."""
    user = await me()
    tasks = services().tasks
    try:
        task = await tasks.get(task_id)
    except NotFound:
        task = None
    if task is None or not _mine(task, user, await _my_queue_refs(user)):
        raise NotFound(Words("no task %(task_id)r of yours", task_id=task_id))
    if task.status is TaskStatus.cancelled:
        raise Conflict("the task was cancelled", field="status")
    if task.status is TaskStatus.open:
        task = await tasks.update(actor(), task_id, {"status": TaskStatus.done})
    return AgentTaskOut.of(task, utcnow())
