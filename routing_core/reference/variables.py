"""Global variables: typed values every routing reads, and some write."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from routing_core.infra.clock import utcnow
from routing_core.model.audit import Actor
from routing_core.model.reference import (
    GlobalVariable,
    VariableType,
)
from routing_core.reference.catalogue import Catalogue
from routing_core.reference.coercion import VARIABLE_COERCERS, build, coerce
from routing_core.store import Store

# -- variables: pure checks --------------------------------------------------------------

def check_variable(variable: GlobalVariable) -> GlobalVariable:
    """Default and current value fit the type; null means unset (read as the type's zero,
    so a variable changing type keeps no stale default)."""
    coercer = VARIABLE_COERCERS[variable.type]
    default, value = variable.default_value, variable.value
    default = None if default is None else coerce(coercer, default, "default_value")
    value = None if value is None else coerce(coercer, value, "value")
    return variable.model_copy(update={"default_value": default, "value": value})


class Variables(Catalogue[GlobalVariable]):
    """Global variables; the engine reads them all at once with ``global_values``."""

    kind, what = "variable", "variable"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.variables, clock)

    async def create(
        self, actor: Actor, *, name: str, type: VariableType, description: str = "",
        default_value: Any = None, value: Any = None,
    ) -> GlobalVariable:
        data = {
            "name": name, "type": type, "description": description,
            "default_value": default_value, "value": value,
        }
        return await self._create(actor, check_variable(build(GlobalVariable, data)))

    async def update(
        self, actor: Actor, variable_id: str, changes: Mapping[str, Any]
    ) -> GlobalVariable:
        """A new type re-checks the default and the value against it (422 if they misfit)."""
        current = await self.repository.get(variable_id)
        updated = check_variable(self._merged(current, changes))
        return await self._save(actor, current, updated, fields=sorted(changes))

    async def global_values(self) -> dict[str, Any]:
        """For the engine: every variable's value, or its default while no value is set."""
        return {item.name: item.effective_value for item in await self.repository.all()}


