"""MongoDB storage: one repository per collection, gathered in ``Store``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from routing_core.store.audit import AuditRepository
from routing_core.store.campaigns import CampaignRepository, CampaignTargetRepository
from routing_core.store.cases import CaseRepository
from routing_core.store.contacts import ContactRepository
from routing_core.store.crm import CrmCardRepository, CrmObjectRepository, CrmTypeRepository
from routing_core.store.entry_points import EntryPointRepository
from routing_core.store.interactions import (
    EventRepository,
    InteractionRepository,
    SignalRepository,
    SnapshotRepository,
)
from routing_core.store.media_files import MediaFiles
from routing_core.store.reference import (
    DatabaseRepository,
    DatabaseRowRepository,
    ScheduleRepository,
    ValueTableRepository,
    VariableRepository,
)
from routing_core.store.replays import ReplayJobRepository, ReplayOutcomeRepository
from routing_core.store.repository import Repository
from routing_core.store.routings import (
    SmartRoutingRepository,
    TreeEditRepository,
    VersionRepository,
)
from routing_core.store.surveys import SurveyAnswerRepository, SurveyRepository
from routing_core.store.tasks import TaskRepository
from routing_core.store.users import ApiTokenRepository, RoleRepository, UserRepository

T = TypeVar("T")


class Store:
    """Every repository over one database; built once per process and event loop."""

    def __init__(self, client: AsyncMongoClient, database: AsyncDatabase):
        self.client = client
        self.database = database
        self.routings = SmartRoutingRepository(database)
        self.versions = VersionRepository(database)
        self.tree_edits = TreeEditRepository(database)
        self.replay_jobs = ReplayJobRepository(database)
        self.replay_results = ReplayOutcomeRepository(database)
        self.users = UserRepository(database)
        self.roles = RoleRepository(database)
        self.tokens = ApiTokenRepository(database)
        self.audit = AuditRepository(database)
        self.value_tables = ValueTableRepository(database)
        self.variables = VariableRepository(database)
        self.databases = DatabaseRepository(database)
        self.database_rows = DatabaseRowRepository(database)
        self.schedules = ScheduleRepository(database)
        self.entry_points = EntryPointRepository(database)
        self.interactions = InteractionRepository(database)
        self.events = EventRepository(database)
        self.contacts = ContactRepository(database)
        self.snapshots = SnapshotRepository(database)
        self.signals = SignalRepository(database)
        self.cases = CaseRepository(database)
        self.crm_cards = CrmCardRepository(database)
        self.crm_types = CrmTypeRepository(database)
        self.crm_objects = CrmObjectRepository(database)
        self.tasks = TaskRepository(database)
        self.campaigns = CampaignRepository(database)
        self.campaign_targets = CampaignTargetRepository(database)
        self.surveys = SurveyRepository(database)
        self.survey_answers = SurveyAnswerRepository(database)
        self.media_files = MediaFiles(database)

    @classmethod
    def connect(cls, uri: str, database_name: str, write_concern: str = "majority") -> Store:
        """Every write waits for a majority of the replica set (journaled there: MongoDB's
        ``writeConcernMajorityJournalDefault``), so a failover never rolls back a message
        the service acknowledged; "1" trades that for latency. Every read goes to the
        primary: the runtime's conditional writes and the panel's read-after-write need
        the latest state, and secondaries may lag."""
        client: AsyncMongoClient = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000,
            w=int(write_concern) if write_concern.isdigit() else write_concern,
        )
        return cls(client, client[database_name])

    def repositories(self) -> list[Repository[Any]]:
        return [value for value in vars(self).values() if isinstance(value, Repository)]

    async def ensure_indexes(self) -> None:
        for repository in self.repositories():
            await repository.ensure_indexes()

    async def routing_in_use(self, routing_id: str) -> bool:
        """True while an entry point starts or ends its interactions with this routing."""
        found = await self.entry_points.collection.find_one(
            {"$or": [{"start_routing": routing_id}, {"end_routing": routing_id}],
             "simulated_version": None},
            projection={"_id": 1},
        )
        return found is not None

    async def ping(self, timeout_seconds: float = 1.5) -> bool:
        """Readiness: the database answers within ``timeout_seconds``."""
        try:
            with pymongo.timeout(timeout_seconds):
                await self.database.command("ping")
        except Exception:  # readiness: any failure means not ready
            return False
        return True

    async def in_transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction, retried on transient conflicts by the driver."""
        async with self.client.start_session() as session:
            return await session.with_transaction(work)

    async def close(self) -> None:
        await self.client.close()
