"""`make run`'s outgoing webhooks: the stream → delivery queue → signed POST path, end to end on the real stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from chalicelib.channels.webhooks import signing_key
from scripts.local.dev_auth import DevKeys
from scripts.local.ephemeral_stack import ephemeral_stack
from scripts.local.fakes.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from pathlib import Path


def test_GIVEN_make_run_and_a_subscription_WHEN_an_appeal_is_assigned_THEN_the_receiver_gets_one_signed_event(
    tmp_path: Path,
) -> None:
    with WebhookReceiver() as receiver, ephemeral_stack(DevKeys.load_or_create(tmp_path), {}) as stack:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {stack.token('admin')}"

        def ok(method: str, path: str, body: Any = None) -> Any:
            reply = api.request(method, stack.base_url + path, json=body, timeout=30)
            assert reply.status_code < 300, (method, path, reply.status_code, reply.text)
            return reply.json() if reply.content else None

        # GIVEN a subscription to assignments (the receiver checks every signature with the secret shown once)
        hook = ok("POST", "/webhooks", {"url": receiver.url, "events": ["appeal.assigned"]})
        receiver.secret = signing_key(hook["secret"])  # what the subscriber derives from its secret (docs/webhooks.md)
        anna = ok("POST", "/operators", {"name": "Anna", "max_load": 3})
        source = ok("POST", "/sources", {"name": "Web form"})
        ok("PUT", f"/sources/{source['id']}/weights", [{"operator_id": anna["id"], "weight": 1}])

        # WHEN a lead writes
        appeal = ok("POST", "/appeals", {"lead_external_id": "web:hook-1", "source_id": source["id"], "message": "Hi"})

        # THEN one delivery arrives, correctly signed, naming the appeal and its operator (no message text)
        deliveries = receiver.wait_for(1, timeout=30)
        assert [d.status for d in deliveries] == [200], [d.rejection for d in deliveries]
        event = deliveries[0].json
        assert event["type"] == "appeal.assigned"
        assert event["data"]["appeal_id"] == appeal["id"]
        assert event["data"]["operator_id"] == anna["id"]
        assert "Hi" not in deliveries[0].body.decode()
