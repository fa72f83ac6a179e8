"""Every route × {no token, expired, tampered, foreign key, wrong role, right role}.

The expectations are written out here, not read from `chalicelib.access.routes`,
so a change to who may call what has to change this table too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from app import app
from chalicelib.schemas.schedules import DAY_NAMES
from scripts.local.dev_auth import DevKeys
from scripts.local.fakes.telegram import FakeTelegram
from tests.support import Api, Reply, appeal_body, operator_token

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("POST", "/channels/telegram/{source_id}"),
    ("GET", "/"),
    ("GET", "/console"),
    ("GET", "/console/{file}"),
    ("POST", "/telegram/operator-bot"),
}
OPERATOR_MAY = {
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("GET", "/me/appeals"),
    ("GET", "/appeals/{appeal_id}"),
    ("GET", "/appeals/{appeal_id}/history"),
    ("POST", "/appeals/{appeal_id}/accept"),
    ("POST", "/appeals/{appeal_id}/close"),
    ("GET", "/appeals/{appeal_id}/messages"),
    ("POST", "/appeals/{appeal_id}/messages"),
    ("GET", "/appeals/{appeal_id}/notes"),
    ("POST", "/appeals/{appeal_id}/notes"),
    ("GET", "/leads/{lead_id}"),
    ("PATCH", "/leads/{lead_id}"),
    ("POST", "/leads/{lead_id}/stage"),
    ("POST", "/leads/{lead_id}/transfer"),
    ("GET", "/leads/{lead_id}/notes"),
    ("POST", "/leads/{lead_id}/notes"),
    ("POST", "/operators/{operator_id}/telegram-link"),
    ("GET", "/stats/operators"),
    ("GET", "/operators/{operator_id}/schedule"),
    ("PUT", "/operators/{operator_id}/schedule"),
    ("DELETE", "/operators/{operator_id}/schedule"),
    ("GET", "/me/schedule"),
    ("PUT", "/me/schedule"),
    ("DELETE", "/me/schedule"),
    ("GET", "/schedules/week"),
}
# Every hour of the week, in UTC: always on shift, so the schedule changes nothing else here.
ALWAYS = {"time_zone": "UTC", "week": {day: [{"start": "00:00", "end": "24:00"}] for day in DAY_NAMES}}
BOT_MAY = {("POST", "/appeals"), ("POST", "/appeals/{appeal_id}/messages/{message_id}/status")}


@dataclass
class World:
    """Operator A holds appeal `mine` (lead `my_lead`); B holds `theirs`; `waiting` waits on source W."""

    admin: Api
    keys: DevKeys
    a: dict[str, Any]
    b: dict[str, Any]
    source: dict[str, Any]
    other_source: dict[str, Any]
    mine: dict[str, Any]
    theirs: dict[str, Any]
    waiting: dict[str, Any]
    deal_id: str
    ready_lead_id: str
    bot_key: str
    revocable_key_id: str
    webhook_id: str

    def operator_a(self) -> Api:
        return self.admin.as_(operator_token(self.keys, self.a["id"]))

    def bot(self) -> Api:
        return self.admin.as_(self.bot_key)

    def reply_id(self) -> int:
        """An outbound message on `mine` (the same one however often asked: one client_message_id)."""
        reply = self.admin.post(f"/appeals/{self.mine['id']}/messages", {"text": "Hi", "client_message_id": "status"})
        assert reply.status in (200, 201), reply.body
        return int(reply.body["id"])

    def my_ready_lead(self) -> str:
        """A lead of operator A's own appeal, qualified, with a domain and a passing score (a new one per call)."""
        lead_id = self.admin.appeal(self.source["id"])["lead_id"]
        assert self.admin.patch(f"/leads/{lead_id}", {"business_domain": "retail"}).status == 200
        for stage in ("contacted", "qualified"):
            assert self.admin.post(f"/leads/{lead_id}/stage", {"stage": stage}).status == 200
        assert self.admin.post(f"/leads/{lead_id}/analyze").body["ai_score"] >= 0.6
        return str(lead_id)

    def connected(self) -> str:
        """The other source, with a Telegram bot connected (on the fake Bot API)."""
        body = {"bot_token": os.environ["OPERATOR_BOT_TOKEN"]}
        reply = self.admin.post(f"/sources/{self.other_source['id']}/telegram/connect", body)
        assert reply.status == 200, reply.body
        return str(self.other_source["id"])


@pytest.fixture
def world(api: Api, dev_keys: DevKeys, monkeypatch: pytest.MonkeyPatch) -> World:
    a, b = api.operator("Anna", max_load=5), api.operator("Boris", max_load=5)
    source, other, line = api.source("Telegram"), api.source("WhatsApp"), api.source("Web form")
    api.weights(source["id"], {a["id"]: 1})
    api.weights(other["id"], {b["id"]: 1})
    assert api.put(f"/operators/{a['id']}/schedule", ALWAYS).status == 200
    mine, theirs, waiting = api.appeal(source["id"]), api.appeal(other["id"]), api.appeal(line["id"])
    assert (mine["operator"]["id"], theirs["operator"]["id"], waiting["status"]) == (a["id"], b["id"], "waiting")
    # Qualified, well-scored leads with a domain: one handed to sales (a deal to read and move), one ready.
    sold, ready = api.transferable_lead()["id"], api.transferable_lead()["id"]
    deal = api.post(f"/leads/{sold}/transfer")
    assert deal.status == 201, deal.body
    bot_key = api.post(f"/sources/{source['id']}/keys", {}).body["api_key"]
    revocable = api.post(f"/sources/{other['id']}/keys", {}).body["key_id"]
    # Nothing listens on port 9 of loopback: a test ping fails at once (recorded, 200), no network needed.
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    hook = api.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    assert hook.status == 201, hook.body
    return World(
        api,
        dev_keys,
        a,
        b,
        source,
        other,
        mine,
        theirs,
        waiting,
        deal.body["deal"]["id"],
        ready,
        bot_key,
        revocable,
        hook.body["id"],
    )


# (method, route) → how the right role calls it successfully: (path, body) from the world.
Request = Callable[[World], tuple[str, Any]]
SAMPLES: dict[tuple[str, str], Request] = {
    ("GET", "/health"): lambda w: ("/health", None),
    ("GET", "/openapi.json"): lambda w: ("/openapi.json", None),
    ("GET", "/me"): lambda w: ("/me", None),
    ("PATCH", "/me"): lambda w: ("/me", {"is_active": True}),
    ("GET", "/me/appeals"): lambda w: ("/me/appeals", None),
    ("GET", "/me/schedule"): lambda w: ("/me/schedule", None),
    ("PUT", "/me/schedule"): lambda w: ("/me/schedule", ALWAYS),
    ("DELETE", "/me/schedule"): lambda w: ("/me/schedule", None),
    ("GET", "/operators/{operator_id}/schedule"): lambda w: (f"/operators/{w.a['id']}/schedule", None),
    ("PUT", "/operators/{operator_id}/schedule"): lambda w: (f"/operators/{w.a['id']}/schedule", ALWAYS),
    ("DELETE", "/operators/{operator_id}/schedule"): lambda w: (f"/operators/{w.a['id']}/schedule", None),
    ("GET", "/schedules/week"): lambda w: ("/schedules/week", None),
    ("POST", "/admin/jobs/{name}/run"): lambda w: ("/admin/jobs/audit/run", None),
    ("POST", "/appeals"): lambda w: ("/appeals", appeal_body(w.source["id"])),
    ("GET", "/appeals/{appeal_id}"): lambda w: (f"/appeals/{w.mine['id']}", None),
    ("GET", "/appeals/{appeal_id}/history"): lambda w: (f"/appeals/{w.mine['id']}/history", None),
    ("POST", "/appeals/{appeal_id}/accept"): lambda w: (f"/appeals/{w.mine['id']}/accept", {"operator_id": w.a["id"]}),
    ("POST", "/appeals/{appeal_id}/close"): lambda w: (f"/appeals/{w.mine['id']}/close", None),
    ("GET", "/appeals/{appeal_id}/messages"): lambda w: (f"/appeals/{w.mine['id']}/messages", None),
    ("POST", "/appeals/{appeal_id}/messages"): lambda w: (
        f"/appeals/{w.mine['id']}/messages",
        {"text": "Hello", "client_message_id": "access-1"},
    ),
    ("POST", "/appeals/{appeal_id}/messages/{message_id}/status"): lambda w: (
        f"/appeals/{w.mine['id']}/messages/{w.reply_id()}/status",
        {"status": "sent"},
    ),
    ("POST", "/sources/{source_id}/telegram/connect"): lambda w: (
        f"/sources/{w.source['id']}/telegram/connect",
        {"bot_token": os.environ["OPERATOR_BOT_TOKEN"]},
    ),
    ("DELETE", "/sources/{source_id}/telegram/connect"): lambda w: (f"/sources/{w.connected()}/telegram/connect", None),
    ("POST", "/appeals/{appeal_id}/assign"): lambda w: (
        f"/appeals/{w.waiting['id']}/assign",
        {"operator_id": w.b["id"]},
    ),
    ("GET", "/deals"): lambda w: ("/deals", None),
    ("GET", "/deals/{deal_id}"): lambda w: (f"/deals/{w.deal_id}", None),
    ("POST", "/deals/{deal_id}/stage"): lambda w: (f"/deals/{w.deal_id}/stage", {"stage": "kyc"}),
    ("GET", "/leads"): lambda w: ("/leads", None),
    ("GET", "/leads/{lead_id}"): lambda w: (f"/leads/{w.mine['lead_id']}", None),
    ("PATCH", "/leads/{lead_id}"): lambda w: (f"/leads/{w.mine['lead_id']}", {"business_domain": "logistics"}),
    ("POST", "/leads/{lead_id}/analyze"): lambda w: (f"/leads/{w.mine['lead_id']}/analyze", None),
    ("GET", "/leads/{lead_id}/appeals"): lambda w: (f"/leads/{w.mine['lead_id']}/appeals", None),
    ("GET", "/leads/{lead_id}/history"): lambda w: (f"/leads/{w.mine['lead_id']}/history", None),
    ("POST", "/leads/{lead_id}/stage"): lambda w: (f"/leads/{w.mine['lead_id']}/stage", {"stage": "contacted"}),
    ("POST", "/leads/{lead_id}/transfer"): lambda w: (f"/leads/{w.my_ready_lead()}/transfer", None),
    ("GET", "/appeals/{appeal_id}/notes"): lambda w: (f"/appeals/{w.mine['id']}/notes", None),
    ("POST", "/appeals/{appeal_id}/notes"): lambda w: (f"/appeals/{w.mine['id']}/notes", {"text": "Call back at 5"}),
    ("GET", "/leads/{lead_id}/notes"): lambda w: (f"/leads/{w.mine['lead_id']}/notes", None),
    ("POST", "/leads/{lead_id}/notes"): lambda w: (f"/leads/{w.mine['lead_id']}/notes", {"text": "Call back at 5"}),
    ("POST", "/operators"): lambda w: ("/operators", {"name": "Vera"}),
    ("POST", "/operators/{operator_id}/telegram-link"): lambda w: (f"/operators/{w.a['id']}/telegram-link", None),
    ("DELETE", "/operators/{operator_id}/telegram-link"): lambda w: (f"/operators/{w.a['id']}/telegram-link", None),
    ("GET", "/operators"): lambda w: ("/operators", None),
    ("GET", "/operators/{operator_id}"): lambda w: (f"/operators/{w.a['id']}", None),
    ("PATCH", "/operators/{operator_id}"): lambda w: (f"/operators/{w.a['id']}", {"max_load": 7}),
    ("GET", "/operators/{operator_id}/appeals"): lambda w: (f"/operators/{w.a['id']}/appeals", None),
    ("POST", "/sources"): lambda w: ("/sources", {"name": "Instagram"}),
    ("GET", "/sources"): lambda w: ("/sources", None),
    ("GET", "/sources/{source_id}"): lambda w: (f"/sources/{w.source['id']}", None),
    ("PATCH", "/sources/{source_id}"): lambda w: (f"/sources/{w.source['id']}", {"description": "main bot"}),
    ("GET", "/sources/{source_id}/waiting"): lambda w: (f"/sources/{w.source['id']}/waiting", None),
    ("PUT", "/sources/{source_id}/weights"): lambda w: (
        f"/sources/{w.source['id']}/weights",
        [{"operator_id": w.a["id"], "weight": 3}],
    ),
    ("GET", "/sources/{source_id}/weights"): lambda w: (f"/sources/{w.source['id']}/weights", None),
    ("GET", "/sources/{source_id}/weights/history"): lambda w: (f"/sources/{w.source['id']}/weights/history", None),
    ("POST", "/sources/{source_id}/simulate"): lambda w: (
        f"/sources/{w.source['id']}/simulate",
        {"weights": {w.a["id"]: 3}},
    ),
    ("GET", "/sources/{source_id}/suggestions"): lambda w: (f"/sources/{w.source['id']}/suggestions", None),
    ("POST", "/sources/{source_id}/suggestions/apply"): lambda w: (
        f"/sources/{w.source['id']}/suggestions/apply",
        None,
    ),
    ("POST", "/exports"): lambda w: (
        "/exports",
        {"kind": "deals", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
    ),
    ("GET", "/sources/{source_id}/keys"): lambda w: (f"/sources/{w.source['id']}/keys", None),
    ("POST", "/sources/{source_id}/keys"): lambda w: (f"/sources/{w.source['id']}/keys", {}),
    ("DELETE", "/sources/{source_id}/keys/{key_id}"): lambda w: (
        f"/sources/{w.other_source['id']}/keys/{w.revocable_key_id}",
        None,
    ),
    ("GET", "/stats/distribution"): lambda w: ("/stats/distribution", None),
    # Outgoing webhooks: admins only (every other role 403).
    ("POST", "/webhooks"): lambda w: (
        "/webhooks",
        {"url": "https://93.184.216.34/hook", "events": ["lead.transferred"]},
    ),
    ("GET", "/webhooks"): lambda w: ("/webhooks", None),
    ("GET", "/webhooks/{webhook_id}"): lambda w: (f"/webhooks/{w.webhook_id}", None),
    ("DELETE", "/webhooks/{webhook_id}"): lambda w: (f"/webhooks/{w.webhook_id}", None),
    ("POST", "/webhooks/{webhook_id}/test"): lambda w: (f"/webhooks/{w.webhook_id}/test", None),
    ("GET", "/webhooks/{webhook_id}/deliveries"): lambda w: (f"/webhooks/{w.webhook_id}/deliveries", None),
    ("GET", "/scoring/model"): lambda w: ("/scoring/model", None),
    ("GET", "/stats/sources/{source_id}/operators"): lambda w: (f"/stats/sources/{w.source['id']}/operators", None),
    ("GET", "/stats/operators"): lambda w: ("/stats/operators?from=2026-11-01&to=2026-11-30", None),
    ("GET", "/stats/sources/{source_id}/timeline"): lambda w: (
        f"/stats/sources/{w.source['id']}/timeline?from=2026-11-01&to=2026-11-02",
        None,
    ),
}
PROTECTED = sorted(route for route in SAMPLES if route not in PUBLIC and route[0] != "OPTIONS")


def all_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def send(api: Api, method: str, request: tuple[str, Any]) -> Reply:
    path, body = request
    return api.call(method, path, body)


def tampered(token: str) -> str:
    """The same token claiming admin, its signature left as it was."""
    header, _claims, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["cognito:groups"] = ["admin"]
    forged = jwt.utils.base64url_encode(jwt.utils.force_bytes(jwt.api_jws.json.dumps(claims))).decode()
    return f"{header}.{forged}.{signature}"


def test_GIVEN_the_app_WHEN_listing_routes_THEN_every_route_has_an_access_expectation_here() -> None:
    missing = all_routes() - set(SAMPLES) - PUBLIC
    assert not missing, f"add these routes to SAMPLES (and OPERATOR_MAY/BOT_MAY if not admin-only): {missing}"


def test_GIVEN_the_app_WHEN_listing_routes_THEN_every_non_public_route_has_the_authorizer() -> None:
    unguarded = [
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if (method, path) not in PUBLIC and entry.authorizer is None
    ]
    assert unguarded == []


@pytest.fixture(autouse=True)
def operator_bot(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A configured operator bot (on the fake Bot API), so its link route can succeed for the right caller."""
    with FakeTelegram() as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("OPERATOR_BOT_TOKEN", fake.add_bot())
        yield


@pytest.mark.parametrize(("method", "route"), PROTECTED, ids=[f"{m} {r}" for m, r in PROTECTED])
def test_GIVEN_a_protected_route_WHEN_called_with_each_kind_of_credential_THEN_401_403_or_success(
    world: World, method: str, route: str
) -> None:
    request = SAMPLES[(method, route)](world)
    keys = world.keys
    stranger = DevKeys.load_or_create(keys.directory.parent / "stranger")  # same claims, another key pair

    for label, token in {
        "no token": None,
        "expired": keys.token("admin", expires_in=-3600),
        "tampered": tampered(operator_token(keys, world.b["id"])),
        "foreign key": stranger.token("admin"),
        "garbage": "not-a-jwt",
        "bot key of nothing": f"lcbot.{world.source['id']}.deadbeef.nope",
    }.items():
        reply = send(world.admin.as_(token), method, request)
        assert reply.status == 401, (label, reply.status, reply.body)

    wrong = []
    if (method, route) not in OPERATOR_MAY:
        wrong.append(("operator", world.operator_a()))
    if (method, route) not in BOT_MAY:
        wrong.append(("bot", world.bot()))
    wrong.append(("no role", world.admin.as_(keys.token("visitor"))))
    for label, caller in wrong:
        reply = send(caller, method, request)
        assert reply.status == 403, (label, reply.status, reply.body)

    right = (
        world.operator_a() if (method, route) in OPERATOR_MAY else world.bot() if (method, route) in BOT_MAY else None
    )
    if right is not None:
        reply = send(right, method, request)
        assert 200 <= reply.status < 300, (reply.status, reply.body)
    reply = send(world.admin, method, SAMPLES[(method, route)](world))
    if (method, route) in {
        ("GET", "/me/appeals"),
        ("PATCH", "/me"),
        ("GET", "/me/schedule"),
        ("PUT", "/me/schedule"),
        ("DELETE", "/me/schedule"),
    }:
        # Allowed, but this admin's token names no operator, so there is no "my" line or presence.
        assert reply.status == 404, reply.body
    else:
        # After the operator's own call an accept is repeated (200) and a close refused as done (409).
        assert 200 <= reply.status < 300 or (right is not None and reply.status == 409), (reply.status, reply.body)


def test_GIVEN_no_token_WHEN_calling_the_public_routes_THEN_they_answer_and_the_webhook_checks_its_own_secret(
    world: World,
) -> None:
    anonymous = world.admin.as_(None)
    assert anonymous.get("/health").status == 200
    assert anonymous.get("/openapi.json").status == 200
    # Reaches the app (its error shape), which refuses for want of the Telegram secret, not of a JWT.
    webhook = anonymous.post(f"/channels/telegram/{world.source['id']}", {"update_id": 1})
    assert (webhook.status, webhook.body["error"]) == (401, "unauthorized")


def test_GIVEN_a_valid_token_WHEN_calling_a_method_the_path_does_not_have_THEN_405_not_401(world: World) -> None:
    for method, path in [("DELETE", f"/operators/{world.a['id']}"), ("PUT", "/health"), ("POST", "/leads")]:
        reply = world.admin.call(method, path, {})
        assert reply.status == 405, (method, path, reply.status, reply.body)
