"""Every assignment says why: the decision record in the appeal's history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.support import Api, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys


def test_GIVEN_an_appeal_WHEN_reading_its_history_THEN_the_draw_is_explained(api: Api) -> None:
    anna, boris = api.operator("Anna", max_load=2), api.operator("Boris", is_active=False)
    source = api.source(strategy="weighted_capacity")
    api.weights(source["id"], {anna["id"]: 30, boris["id"]: 10})
    appeal = api.appeal(source["id"])
    api.post(f"/appeals/{appeal['id']}/accept", {"operator_id": anna["id"]})
    api.post(f"/appeals/{appeal['id']}/close")

    history = api.get(f"/appeals/{appeal['id']}/history").body

    assert history["status"] == "closed"
    assert [event["type"] for event in history["events"]] == ["created", "assigned", "accepted", "closed"]
    decision = history["events"][1]["decision"]
    assert (decision["trigger"], decision["strategy"]) == ("intake", "weighted_capacity")
    assert decision["winner"] == anna["id"]
    by_id = {c["operator_id"]: c for c in decision["candidates"]}
    assert by_id[anna["id"]] == {
        "operator_id": anna["id"],
        "weight": 30,
        "active_load": 0,
        "max_load": 2,
        "is_active": True,
        "eligible": True,
        "draw_weight": 60,  # weight × free capacity
        "presence": "available",
        "not_drawn_because": None,  # its presence and hours let it be drawn
    }
    assert by_id[boris["id"]]["eligible"] is False and by_id[boris["id"]]["draw_weight"] == 0
    assert decision["draw_total"] == 60 and 0 <= decision["draw"] < 60
    assert all(event["at"] for event in history["events"])


def test_GIVEN_nobody_free_WHEN_an_appeal_arrives_THEN_its_history_says_why_it_waits(api: Api) -> None:
    anna = api.operator("Anna", max_load=0)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})

    appeal = api.appeal(source["id"])

    queued = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (queued["type"], queued["reason"]) == ("queued", "nobody_free")
    assert queued["decision"]["winner"] is None and queued["decision"]["candidates"][0]["eligible"] is False


def test_GIVEN_an_unknown_appeal_WHEN_reading_its_history_THEN_404(api: Api) -> None:
    assert api.get("/appeals/ap_0000000000000/history").status == 404
    assert api.get("/appeals/not-an-id/history").status == 404


def test_GIVEN_an_operators_appeal_WHEN_it_reads_the_history_THEN_colleagues_ids_weights_and_loads_are_gone(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, boris = api.operator("Anna", max_load=2), api.operator("Boris", max_load=7)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 30, boris["id"]: 10})
    appeal = next(a for a in (api.appeal(source["id"]) for _ in range(20)) if a["operator"]["id"] == anna["id"])
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))

    seen = as_anna.get(f"/appeals/{appeal['id']}/history")

    assert seen.status == 200
    assert boris["id"] not in json.dumps(seen.body)
    decision = seen.body["events"][1]["decision"]
    assert [c["operator_id"] for c in decision["candidates"]] == [anna["id"]]
    assert decision["winner"] == anna["id"]
    # The admin still sees the whole record.
    full = api.get(f"/appeals/{appeal['id']}/history").body["events"][1]["decision"]
    assert {c["operator_id"] for c in full["candidates"]} == {anna["id"], boris["id"]}
