"""The domain services of one process, built once over one ``Store``."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from routing_core.accounts import Accounts
from routing_core.lifecycle import Lifecycle
from routing_core.scheduling import ProductionScheduler
from routing_core.store import Store
from routing_core.tree import TreeEditor


@dataclass
class Services:
    settings: Settings
    store: Store
    accounts: Accounts
    lifecycle: Lifecycle
    trees: TreeEditor
    scheduler: ProductionScheduler

    @classmethod
    def build(cls, settings: Settings, store: Store) -> Services:
        lifecycle = Lifecycle(
            store, settings.zone, late_grace_seconds=settings.schedule_late_grace_seconds
        )
        return cls(
            settings=settings,
            store=store,
            accounts=Accounts(store, settings.token_ttl_seconds),
            lifecycle=lifecycle,
            trees=TreeEditor(store, lifecycle),
            scheduler=ProductionScheduler(lifecycle, settings.schedule_poll_seconds),
        )

    async def start(self) -> None:
        """Indexes, built-in roles, the first admin, then the scheduler."""
        await self.store.ensure_indexes()
        await self.accounts.ensure_builtin_roles()
        await self.accounts.ensure_first_admin(
            self.settings.admin_email, self.settings.admin_password
        )
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
