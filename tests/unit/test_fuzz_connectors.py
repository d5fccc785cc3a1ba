"""Each connector's ``parse``, fed random bodies: a ``WebhookResult`` or ``MalformedPayload``.

A provider (or someone who got hold of a webhook secret) can send anything; the webhook
answers 400 for what it does not understand and never 500. Bodies are mutations of the
golden fixtures (so most of them get deep into the parsers), plain random JSON, and bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.base import Connector, MalformedPayload, WebhookRequest, WebhookResult
from connectors.messenger import MessengerConnector
from connectors.sms import TwilioMessages
from connectors.telegram import TelegramConnector
from connectors.whatsapp import WhatsAppConnector
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "channels"
FUZZ = settings(max_examples=600, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False) | st.text(max_size=20))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=12,
)


def golden_bodies(channel: str, file: str, key: str) -> list[Any]:
    data = json.loads((GOLDEN / channel / file).read_text())
    cases = data["cases"] if isinstance(data, dict) else data
    return [case[key] for case in cases if key in case]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (keys of objects, indexes of lists); objects and lists
    three times, as parsers walk into them."""
    found = [prefix] * (3 if isinstance(value, dict | list) else 1)  # parsers walk these
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


KINDS: dict[type, st.SearchStrategy[Any]] = {
    type(None): st.none(), bool: st.booleans(), int: st.integers(-(2**70), 2**70),
    float: st.floats(allow_nan=False), str: st.text(max_size=20),
    list: st.lists(SCALARS, max_size=3), dict: st.dictionaries(st.text(max_size=5), SCALARS,
                                                                max_size=3),
}


def other_type(value: Any) -> st.SearchStrategy[Any]:
    """A value of another JSON type than ``value``'s."""
    return st.one_of(*(strategy for kind, strategy in KINDS.items() if kind is not type(value)))


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` with one to three places replaced by a value of another type, by random
    JSON, or removed: a few changes deep in a real payload reach the parsers' corners."""
    value = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(value)))
        if not where:
            return draw(JSON)
        parent = value
        try:
            for step in where[:-1]:
                parent = parent[step]
            how = draw(st.sampled_from(["retype", "retype", "random", "remove"]))
            if how == "remove":
                del parent[where[-1]]
            elif how == "retype":
                parent[where[-1]] = draw(other_type(parent[where[-1]]))
            else:
                parent[where[-1]] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced that place
    return value


def entry_point(channel: Channel) -> EntryPoint:
    return EntryPoint(id="ep_fuzz", channel=channel, name="fuzz", address="fuzz",
                      start_routing="fuzz")


def request(body: bytes, form: dict[str, str] | None = None, kind: str = "event") -> Any:
    return WebhookRequest(
        method="POST", public_url="https://example.com/webhooks/x/ep_fuzz", kind=kind,
        headers={}, query={}, body=body, form=form or {},
    )


def parses_or_refuses(connector: Connector, channel: Channel, incoming: WebhookRequest) -> None:
    try:
        result = connector.parse(incoming, entry_point(channel))
    except MalformedPayload:
        return
    assert isinstance(result, WebhookResult)
    for inbound in result.inbound:
        assert inbound.entry_point_id == "ep_fuzz" and inbound.provider_id


@st.composite
def json_bodies(draw: st.DrawFn, seeds: list[Any]) -> bytes:
    """Mostly mutated real payloads; sometimes random JSON, text or bytes."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
    value = draw(JSON) if kind == 1 else draw(mutated(draw(st.sampled_from(seeds))))
    return json.dumps(value).encode()


TELEGRAM = TelegramConnector("http://127.0.0.1:9", "https://example.com")
MESSENGER = MessengerConnector("http://127.0.0.1:9", "v21.0")
WHATSAPP = WhatsAppConnector(public_url="https://example.com",
                             messages=TwilioMessages("http://127.0.0.1:9"))


@FUZZ
@given(body=json_bodies(golden_bodies("telegram", "inbound.json", "body")))
def test_telegram_parse(body: bytes) -> None:
    parses_or_refuses(TELEGRAM, Channel.telegram, request(body))


@FUZZ
@given(body=json_bodies(golden_bodies("messenger", "inbound.json", "body")))
@example(body=json.dumps({  # found by this test: attachments that are not a list
    "object": "page",
    "entry": [{"messaging": [{"sender": {"id": "1"}, "message": {"mid": "m", "attachments": 5}}]}],
}).encode())
def test_messenger_parse(body: bytes) -> None:
    parses_or_refuses(MESSENGER, Channel.messenger, request(body))


WHATSAPP_FORMS = golden_bodies("whatsapp", "webhooks.json", "form")
FORM_KEYS = sorted({key for form in WHATSAPP_FORMS for key in form} | {"MediaUrl7", "NumMedia"})
FORM_VALUES = st.text(max_size=30) | st.integers(-5, 50).map(str) | st.sampled_from(
    ["whatsapp:+14155550100", "+33612345678", "whatsapp:", "", "-1", "1e9", "nan"]
)


@st.composite
def whatsapp_forms(draw: st.DrawFn) -> dict[str, str]:
    form = dict(draw(st.sampled_from(WHATSAPP_FORMS)))
    for key in draw(st.lists(st.sampled_from(FORM_KEYS), max_size=4)):
        form[key] = draw(FORM_VALUES)
    for key in draw(st.lists(st.sampled_from(sorted(form) or ["Body"]), max_size=2)):
        form.pop(key, None)
    return form


@FUZZ
@given(form=whatsapp_forms() | st.dictionaries(st.text(max_size=12), st.text(max_size=20)),
       kind=st.sampled_from(["event", "status"]))
def test_whatsapp_parse(form: dict[str, str], kind: str) -> None:
    parses_or_refuses(WHATSAPP, Channel.whatsapp, request(b"", form=form, kind=kind))
