"""The domain services of one process, built once over one ``Store``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from config import Settings
from routing_core.accounts.service import Accounts
from routing_core.business.campaigns import CampaignRunner, Campaigns
from routing_core.business.cases import Cases
from routing_core.business.crm import Crm
from routing_core.business.surveys import Surveys
from routing_core.business.tasks import Tasks
from routing_core.contacts.directory import ContactDirectory
from routing_core.contacts.erasure import Erasure
from routing_core.engine.consent import ConsentingSms
from routing_core.engine.delivery import Delivery, LocalHub
from routing_core.engine.media_library import MediaLibrary
from routing_core.engine.outbox import OutboxSender
from routing_core.engine.outside_starts import OutsideStarts
from routing_core.engine.reference_port import StoreReference
from routing_core.engine.relay import EventRelay, signal_relay, webchat_relay
from routing_core.engine.repairs import Repairs
from routing_core.engine.replay_jobs import ReplayJobs
from routing_core.engine.runtime import Runtime, RuntimeSettings
from routing_core.engine.simulators import Simulators
from routing_core.infra.media_links import MediaLinks
from routing_core.infra.secrets_box import SecretsBox
from routing_core.ports.world import HttpPort, MailPort, Ports, SmsPort
from routing_core.reference.databases import Databases
from routing_core.reference.schedules import Schedules
from routing_core.reference.value_tables import ValueTables
from routing_core.reference.variables import Variables
from routing_core.routing.canaries import Canaries
from routing_core.routing.entry_points import EntryPoints
from routing_core.routing.lifecycle import Lifecycle
from routing_core.routing.scheduling import ProductionScheduler
from routing_core.routing.tree_editor import TreeEditor
from routing_core.store import Store
from routing_core.store.change_feed import ChangeFeed
from routing_core.store.statistics import RoutingStatistics

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 600


@dataclass
class Services:
    settings: Settings
    store: Store
    accounts: Accounts
    lifecycle: Lifecycle
    trees: TreeEditor
    scheduler: ProductionScheduler
    value_tables: ValueTables
    variables: Variables
    databases: Databases
    schedules: Schedules
    entry_points: EntryPoints
    hub: LocalHub
    delivery: Delivery
    runtime: Runtime
    outbox: OutboxSender
    cases: Cases
    crm: Crm
    tasks: Tasks
    campaigns: Campaigns
    campaign_runner: CampaignRunner
    surveys: Surveys
    repairs: Repairs
    simulators: Simulators
    canaries: Canaries
    replays: ReplayJobs
    statistics: RoutingStatistics
    contacts: ContactDirectory
    erasure: Erasure
    outside_starts: OutsideStarts
    media: MediaLibrary
    media_links: MediaLinks
    relays: list[EventRelay] = field(default_factory=list)  # more may be added before start
    _relay_tasks: list[asyncio.Task[None]] = field(default_factory=list, repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: Store,
        *,
        http: HttpPort | None = None,
        mail: MailPort | None = None,
        sms: SmsPort | None = None,
    ) -> Services:
        lifecycle = Lifecycle(
            store, settings.zone, late_grace_seconds=settings.schedule_late_grace_seconds
        )
        hub = LocalHub()
        delivery = Delivery(hub)
        value_tables, variables = ValueTables(store), Variables(store)
        databases, schedules = Databases(store), Schedules(store)
        reference = StoreReference(store, value_tables, variables, databases, schedules)
        ports = Ports(reference=reference, http=http, mail=mail,
                      sms=ConsentingSms(sms, store) if sms is not None else None)
        cases, crm, tasks = Cases(store), Crm(store), Tasks(store)
        campaigns, surveys = Campaigns(store), Surveys(store)
        ports.extra["cases"], ports.extra["crm"], ports.extra["tasks"] = cases, crm, tasks
        ports.extra["campaigns"], ports.extra["surveys"] = campaigns, surveys
        runtime = Runtime(
            store,
            ports,
            delivery,
            RuntimeSettings(
                lease_seconds=settings.lease_seconds,
                inactivity_seconds=settings.inactivity_expiry_seconds,
                step_budget=settings.step_budget,
                messages_per_step=settings.messages_per_step,
                messages_per_hour=settings.messages_per_hour,
                wakes_without_reply=settings.wakes_without_reply,
                sweep_seconds=settings.sweep_seconds,
                inbox_pace=settings.inbox_pace,
            ),
        )
        entry_points = EntryPoints(store, SecretsBox(settings.secret_key or ""))
        outbox = OutboxSender(store, entry_points, held=runtime.held)
        runtime.add_sweep(outbox.sweep)
        campaign_runner = CampaignRunner(campaigns, outbox, entry_points, sms)
        runtime.add_sweep(campaign_runner.sweep)
        runtime.on_committed(campaign_runner.on_committed)
        lifecycle.change_listeners.append(runtime.start_versions.forget)
        scheduler = ProductionScheduler(lifecycle, settings.schedule_poll_seconds)
        lifecycle.change_listeners.append(scheduler.version_changed)
        return cls(
            settings=settings,
            store=store,
            accounts=Accounts(
                store,
                settings.token_ttl_seconds,
                hasher=PasswordHasher(memory_cost=settings.argon2_memory_kib),
            ),
            lifecycle=lifecycle,
            trees=TreeEditor(store, lifecycle),
            scheduler=scheduler,
            value_tables=value_tables,
            variables=variables,
            databases=databases,
            schedules=schedules,
            entry_points=entry_points,
            hub=hub,
            delivery=delivery,
            runtime=runtime,
            outbox=outbox,
            cases=cases,
            crm=crm,
            tasks=tasks,
            campaigns=campaigns,
            campaign_runner=campaign_runner,
            surveys=surveys,
            repairs=Repairs(runtime),
            simulators=Simulators(runtime, entry_points),
            canaries=Canaries(store, lifecycle),
            replays=ReplayJobs(runtime),
            statistics=RoutingStatistics(store.interactions),
            contacts=ContactDirectory(store),
            erasure=Erasure(store, runtime),
            outside_starts=OutsideStarts(runtime, entry_points),
            media=MediaLibrary(store, entry_points, outbox.clients),
            media_links=MediaLinks(settings.secret_key or "", settings.public_url),
        )

    async def start(self) -> None:
        """Indexes, built-in roles, the first admin, then the scheduler."""
        await self.store.ensure_indexes()
        await self.accounts.ensure_builtin_roles()
        await self.accounts.ensure_first_admin(
            self.settings.admin_email, self.settings.admin_password
        )
        await self.scheduler.start()
        for channel in self.outbox.channels():
            self.delivery.register(channel, self.outbox)
        self.runtime.start()
        self.relays.append(webchat_relay(self.store, self.hub, self.runtime.owner))
        self.relays.append(signal_relay(self.store, self.hub, self.runtime.owner))
        # one change stream for all of them: each open stream costs mongod a read of the oplog
        feed = ChangeFeed(self.store.database, [*self.relays, self.store.entry_points.watch,
                                          self.runtime.start_versions.watch,
                                          self.store.campaigns.watch])
        self._relay_tasks = [asyncio.create_task(feed.run())]
        self._relay_tasks.append(asyncio.create_task(self._housekeeping()))

    async def _housekeeping(self) -> None:
        """Every few minutes: the simulators nobody used for an hour go."""
        while True:
            try:
                await self.simulators.remove_idle(self.runtime.clock())
            except Exception:  # noqa: BLE001 — retried at the next round, never fatal
                log.exception("removing idle simulators failed")
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    async def stop(self) -> None:
        for task in self._relay_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.runtime.stop()
        await self.scheduler.stop()
