"""What an agent sees beside a conversation: who the customer is, what the bot collected,
the records linked to it, their earlier conversations, the internal notes, and canned
replies ready for this customer.

Canned replies are the rows of the value table named ``canned_replies`` (columns
``label`` and ``text``): ordinary reference data that admins already know how to edit,
each text a template rendered for the conversation (``{{ contact.name }}``,
``{{ vars.order }}``, ``{{ agent.email }}``) before the agent edits and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from routing_core.expressions.templates import TemplateFailure, render
from routing_core.model.interaction import Interaction
from routing_core.model.users import User
from routing_core.store import Store

CANNED_TABLE = "canned_replies"
EARLIER_SHOWN = 10
NOTES_SHOWN = 100
RECORD_VARIABLES = ("case", "crm", "crm2")  # what record actions leave in the variables


@dataclass
class AgentContext:
    contact: dict[str, Any]
    variables: dict[str, Any]
    records: dict[str, Any]  # the case, CRM card, CRM object the conversation is linked to
    tasks: list[dict[str, Any]]
    earlier: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    canned: list[dict[str, str]] = field(default_factory=list)


def contact_card(interaction: Interaction, language: str | None,
                 opted_out: bool) -> dict[str, Any]:
    return {"id": interaction.contact_id, "name": interaction.contact_name,
            "channel": interaction.channel.value, "address": interaction.contact,
            "phone": interaction.contact_phone, "language": language,
            "opted_out": opted_out, "variables": interaction.contact_variables}


async def context_of(store: Store, interaction: Interaction, agent: User) -> AgentContext:
    language = interaction.contact_variables.get("language")
    contact = contact_card(interaction, language if isinstance(language, str) else None,
                           interaction.opted_out)
    ids = [interaction.contact_id] + [c.id for c in await store.contacts.all(
        {"merged_into": interaction.person_id or interaction.contact_id})]
    if interaction.person_id:
        ids.append(interaction.person_id)
    earlier, _ = await store.interactions.list(
        {"contact_id": {"$in": ids}, "_id": {"$ne": interaction.id}}, limit=EARLIER_SHOWN,
        newest_first=True)
    notes = await store.events.latest_of_interaction(interaction.id, NOTES_SHOWN, ("note",))
    tasks = await store.tasks.all({"interaction_id": interaction.id})
    return AgentContext(
        contact=contact,
        variables={name: value for name, value in interaction.variables.items()
                   if name not in RECORD_VARIABLES},
        records={name: interaction.variables[name] for name in RECORD_VARIABLES
                 if isinstance(interaction.variables.get(name), dict)},
        tasks=[{"id": task.id, "title": task.title, "status": task.status.value,
                "due_at": task.due_at.isoformat() if task.due_at else None}
               for task in tasks],
        earlier=[{"id": item.id, "channel": item.channel.value,
                  "started_at": item.created_at.isoformat(), "state": item.state.value,
                  "end_reason": item.end_reason, "last_text": item.last_text[:200]}
                 for item in earlier],
        notes=[{"id": note.id, "at": note.at.isoformat(), "text": note.data.get("text", ""),
                "agent": note.data.get("agent_name", "")} for note in notes],
        canned=await canned_replies(store, interaction, agent),
    )


async def canned_replies(store: Store, interaction: Interaction,
                         agent: User) -> list[dict[str, str]]:
    """The canned replies rendered for this conversation; one whose template fails is
    offered as typed, so the agent sees what to fix rather than nothing."""
    table = await store.value_tables.find_one({"name": CANNED_TABLE})
    if table is None:
        return []
    scope = {"contact": {**interaction.contact_variables, "name": interaction.contact_name
                         or "", "phone": interaction.contact_phone or "",
                         "channel": interaction.channel.value},
             "vars": interaction.variables, "agent": {"email": agent.email, "id": agent.id}}
    replies = []
    for row in table.rows:
        label, text = str(row.get("label") or ""), str(row.get("text") or "")
        if not label or not text:
            continue
        try:
            rendered = render(text, scope)
        except TemplateFailure:
            rendered = text
        replies.append({"label": label, "text": rendered})
    return replies
