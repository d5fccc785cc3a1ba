"""Campaigns and their targets through the JSON API, and the voice dialer's claims."""

from __future__ import annotations

from typing import Any

from routing_core.model.audit import SYSTEM
from routing_core.model.interaction import Channel
from tests.conftest import Api
from tests.integration.builders import ok, refused
from tests.support.routings import action, production_routing, tree


async def campaign(api: Api, **body: Any) -> dict[str, Any]:
    return ok(await api.post("/api/campaigns", json={
        "name": "callbacks", "kind": "voice", **body}), 201)


async def test_a_campaign_moves_through_its_statuses(api: Api, services):
    sms = await campaign(api, name="promo", kind="sms", message="Hi {{ target.name }}",
                         window={"start": "09:00", "end": "18:00", "timezone": "Europe/Paris",
                                 "days": ["monday", "friday"]}, rate_per_minute=10)
    assert (sms["status"], sms["window"]["days"]) == ("draft", ["monday", "friday"])
    path = f"/api/campaigns/{sms['id']}"
    refused(await api.patch(path, json={"status": "paused"}), 409, "status_change_refused",
            "status")
    refused(await api.patch(path, json={"kind": "voice"}), 422, "invalid", "kind")
    assert ok(await api.patch(path, json={"status": "running"}))["status"] == "running"
    refused(await api.delete(path), 409, "campaign_running")
    assert ok(await api.patch(path, json={"status": "paused"}))["status"] == "paused"
    changed = ok(await api.patch(path, json={"window": {"schedule": "office"},
                                             "rate_per_minute": 20}))
    assert (changed["window"]["schedule"], changed["rate_per_minute"]) == ("office", 20)
    assert ok(await api.get(path))["window"]["schedule"] == "office"
    assert ok(await api.patch(path, json={"status": "closed"}))["status"] == "closed"
    refused(await api.patch(path, json={"status": "running"}), 409, "status_change_refused")
    listed = ok(await api.get("/api/campaigns?status=closed&kind=sms"))
    assert [item["id"] for item in listed["items"]] == [sms["id"]]
    assert (await api.delete(path)).status_code == 204
    empty = await campaign(api, name="empty", kind="sms")
    refused(await api.patch(f"/api/campaigns/{empty['id']}", json={"status": "running"}), 409,
            "campaign_not_ready", "message")
    whatsapp = await campaign(api, name="renewals", kind="whatsapp", message="Hello")
    refused(await api.patch(f"/api/campaigns/{whatsapp['id']}", json={"status": "running"}),
            409, "campaign_not_ready", "entry_point_id")
    routing_id = await production_routing(services, "replies", tree(
        action("thanks", "message", {"text": "Thanks for your reply."})))
    entry_point = await services.entry_points.create(SYSTEM, {
        "channel": Channel.whatsapp, "name": "WhatsApp", "address": "whatsapp:+14155238886",
        "start_routing": routing_id}, {"account_sid": "AC1", "auth_token": "t"})
    running = ok(await api.patch(f"/api/campaigns/{whatsapp['id']}", json={
        "entry_point_id": entry_point.id, "status": "running"}))
    assert running["status"] == "running"


async def test_bad_campaigns_are_refused(api: Api):
    await campaign(api)
    refused(await api.post("/api/campaigns", json={"name": "callbacks", "kind": "voice"}), 409,
            "name_taken", "name")
    refused(await api.post("/api/campaigns", json={"name": "x", "kind": "fax"}), 422, "invalid",
            "kind")
    refused(await api.post("/api/campaigns", json={"name": "x", "kind": "sms", "window": {
        "start": "18:00", "end": "09:00"}}), 422, "invalid", "window")
    refused(await api.post("/api/campaigns", json={"name": "x", "kind": "sms", "window": {
        "timezone": "Mars/Olympus"}}), 422, "invalid", "window.timezone")
    refused(await api.post("/api/campaigns", json={"name": "x", "kind": "sms", "window": {
        "days": ["someday"]}}), 422, "invalid")
    refused(await api.post("/api/campaigns", json={"name": "x", "kind": "sms",
                                                   "rate_per_minute": 0}),
            422, "invalid", "rate_per_minute")


async def test_targets_are_unique_per_campaign_and_refused_when_closed(api: Api):
    voice = await campaign(api)
    targets = f"/api/campaigns/{voice['id']}/targets"
    ada = ok(await api.post(targets, json={"phone": "+44 7700 900123",
                                           "fields": {"name": "Ada"}}), 201)
    assert (ada["phone"], ada["status"], ada["attempts"]) == ("+447700900123", "pending", 0)
    refused(await api.post(targets, json={"phone": "0044 7700 900123"}), 409,
            "duplicate_target", "phone")
    refused(await api.post(targets, json={"phone": "tomorrow"}), 422, "invalid_phone", "phone")
    refused(await api.post(targets, json={"phone": "+0123456789"}), 422, "invalid_phone")
    bulk = ok(await api.post(f"{targets}/bulk", json={"targets": [
        {"phone": "+33612345678"}, {"phone": "+447700900123"}, {"phone": "nope"},
        {"phone": "+15005550006", "call_after": "2030-01-01T09:00:00+00:00"}]}))
    assert bulk["added"] == 2
    assert [(item["index"], item["code"]) for item in bulk["refused"]] == [
        (1, "duplicate_target"), (2, "invalid_phone")]
    later = ok(await api.get(f"{targets}?phone=%2B15005550006"))["items"][0]
    assert later["due_at"] == "2030-01-01T09:00:00Z"
    assert len(ok(await api.get(f"{targets}?status=pending"))["items"]) == 3
    changed = ok(await api.patch(f"{targets}/{ada['id']}", json={
        "fields": {"name": "Ada L."}, "revision": ada["revision"]}))
    assert changed["fields"] == {"name": "Ada L."}
    refused(await api.patch(f"{targets}/{ada['id']}", json={
        "fields": {"name": "Ada Lovelace"}, "revision": ada["revision"]}), 409,
        "concurrent_change")
    refused(await api.patch(f"{targets}/{ada['id']}", json={"status": "sent"}), 422)
    assert (await api.delete(f"{targets}/{later['id']}")).status_code == 204
    refused(await api.get(f"{targets}/{later['id']}"), 404, "not_found")
    ok(await api.patch(f"/api/campaigns/{voice['id']}", json={"status": "closed"}))
    refused(await api.post(targets, json={"phone": "+15005550007"}), 409, "campaign_closed")


async def test_a_dialer_claims_voice_targets_and_reports_results(api: Api, services):
    voice = await campaign(api, rate_per_minute=2, max_attempts=2)
    path = f"/api/campaigns/{voice['id']}/targets"
    for phone in ("+33612345678", "+447700900123", "+15005550006"):
        ok(await api.post(path, json={"phone": phone}), 201)
    refused(await api.post(f"{path}/claim"), 409, "campaign_not_running")
    ok(await api.patch(f"/api/campaigns/{voice['id']}", json={"status": "running"}))
    first = ok(await api.post(f"{path}/claim"))["target"]
    assert (first["phone"], first["status"], first["attempts"]) == ("+33612345678", "sending", 1)
    second = ok(await api.post(f"{path}/claim"))["target"]
    assert second["phone"] == "+447700900123"
    limited = ok(await api.post(f"{path}/claim"))
    assert limited["target"] is None and "rate" in limited["reason"]  # 2 a minute
    called = ok(await api.post(f"{path}/{first['id']}/result", json={
        "result": "called", "note": "interested"}))
    # what was called is the campaign's record; what a dialer holds cannot be taken back
    refused(await api.delete(f"{path}/{first['id']}"), 409, "target_not_pending")
    refused(await api.delete(f"{path}/{second['id']}"), 409, "target_not_pending")
    assert (called["status"], called["note"]) == ("called", "interested")
    refused(await api.post(f"{path}/{first['id']}/result", json={"result": "called"}), 409,
            "not_claimed")
    retried = ok(await api.post(f"{path}/{second['id']}/result", json={
        "result": "failed", "note": "busy", "retry_in_minutes": 30}))
    assert (retried["status"], retried["last_error"]) == ("pending", "busy")
    await services.store.campaigns.collection.update_one(  # the next minute
        {"_id": voice["id"]}, {"$set": {"rate_window_start": None}})
    third = ok(await api.post(f"{path}/claim"))["target"]
    assert third["phone"] == "+15005550006"  # the retry is not due yet
    failed = ok(await api.post(f"{path}/{third['id']}/result", json={"result": "failed"}))
    assert failed["status"] == "failed"
    requeued = ok(await api.patch(f"{path}/{third['id']}", json={"status": "pending"}))
    assert (requeued["status"], requeued["attempts"]) == ("pending", 0)
    sms = await campaign(api, name="promo", kind="sms")
    refused(await api.post(f"/api/campaigns/{sms['id']}/targets/claim"), 409, "not_voice")


async def test_a_dialer_gets_nothing_outside_the_window(api: Api):
    ok(await api.post("/api/schedules", json={"name": "never"}), 201)  # no opening hours
    for name, schedule in (("closed", "never"), ("unknown", "deleted")):
        voice = await campaign(api, name=name, status="running", window={"schedule": schedule})
        targets = f"/api/campaigns/{voice['id']}/targets"
        ok(await api.post(targets, json={"phone": "+33612345678"}), 201)
        claim = ok(await api.post(f"{targets}/claim"))
        assert claim["target"] is None and "window" in claim["reason"]
