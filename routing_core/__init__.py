"""The domain and the engine of smart-routing: no web framework or provider SDK here.

The packages form layers. A module may import from its own package and from the packages
of lower layers, never from a higher layer nor from a sibling on its own layer, and no two
modules import each other, directly or around a circle. ``tests/unit/test_layering.py``
reads every import and holds the rule. From the bottom up:

1. ``infra`` — clock, ids, the domain's errors, log context, metrics, sealed secrets,
   throttles.
2. ``model`` — the typed records (pydantic), one module per aggregate.
3. ``store`` — one repository per collection, with its indexes; the embedded mongod.
4. ``ports`` — the interfaces to the outside: what actions call, what channels implement.
5. ``expressions`` — values, sandboxed templates, conditions: pure evaluation.
6. ``actions`` — the run context an action sees, and one registered class per action type.
7. ``routing``, ``reference``, ``accounts`` — domain services that need no engine:
   routings and their lifecycle, reference data, users and roles.
8. ``engine`` — ingest, lease, step, commit, send; timers, the outbox, the relays.
9. ``contact_centre``, ``business``, ``contacts`` — services built on the engine: queues
   and agents; cases, CRM, tasks, campaigns, surveys; contacts found, merged, exported
   and erased.
10. ``services`` — the composition root: builds every service of one process.
"""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("infra",),
    ("model",),
    ("store",),
    ("ports",),
    ("expressions",),
    ("actions",),
    ("routing", "reference", "accounts"),
    ("engine",),
    ("contact_centre", "business", "contacts"),
    ("services",),
)
