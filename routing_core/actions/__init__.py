"""Action types: one small registered class each, grouped by category module.

Importing this package registers every type, so the registry is complete wherever it is used.
"""

from routing_core.actions import (  # noqa: F401  (imported for registration)
    campaigns,
    cases,
    data,
    distribution,
    flow,
    interconnection,
    messaging,
    sending,
    survey,
    timing,
)
from routing_core.actions.base import (
    ActionType,
    Outcome,
    action_type,
    known_types,
    register,
    validate_params,
)

__all__ = ["ActionType", "Outcome", "action_type", "known_types", "register", "validate_params"]
