"""The warm copy of a source's settings and weight set (moto tier): kept a few seconds, forgotten on
this process's own writes, and never able to hand an appeal to someone who may not take it."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.core.errors import NotFound
from chalicelib.models import Operator, Weight, count_requests
from chalicelib.routing.source_cache import SourceCache
from tests.support import Api, appeal_body


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def warm_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_CACHE_SECONDS", "3600")


def test_GIVEN_a_copy_WHEN_read_within_the_window_THEN_no_request_and_after_it_one_more(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    clock = Clock()
    cache = SourceCache(seconds=5, clock=clock)
    cache.source(source["id"]), cache.weights(source["id"])

    with count_requests() as inside:
        clock.now += 4.9
        kept = cache.weights(source["id"])
        cache.source(source["id"])
    # Another process takes Anna off the source: the copy does not know until the window ends.
    Weight(source["id"], anna["id"]).update(actions=[Weight.weight.set(0), Weight.serving_operator_id.remove()])
    with count_requests() as after:
        clock.now += 0.2
        fresh = cache.weights(source["id"])
        cache.source(source["id"])

    assert inside == Counter()
    assert [row.operator_id for row in kept] == [anna["id"]]
    assert after == {"Query": 1, "GetItem": 1}
    assert list(fresh) == []


def test_GIVEN_an_unknown_source_WHEN_it_is_created_after_a_miss_THEN_the_next_read_finds_it(api: Api) -> None:
    cache = SourceCache(seconds=5, clock=Clock())
    with pytest.raises(NotFound):
        cache.source("src_00000000000000000000000001")

    created = api.source()

    assert cache.source(created["id"]).source_id == created["id"]


@pytest.mark.usefixtures("warm_window")
def test_GIVEN_a_warm_copy_WHEN_weights_change_through_the_api_THEN_the_next_appeal_draws_from_the_new_set(
    api: Api,
) -> None:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    assert api.appeal(source["id"])["operator"]["id"] == anna["id"]  # the copy is warm now

    api.weights(source["id"], {boris["id"]: 10})

    assert {api.appeal(source["id"])["operator"]["id"] for _ in range(5)} == {boris["id"]}


@pytest.mark.usefixtures("warm_window")
def test_GIVEN_a_warm_copy_WHEN_settings_change_through_the_api_THEN_the_next_appeal_obeys_them(api: Api) -> None:
    anna = api.operator("Anna")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    api.appeal(source["id"], lead_external_id="tg:1")

    assert api.patch(f"/sources/{source['id']}", {"external_id_prefixes": ["web:"]}).status == 200
    reply = api.post("/appeals", appeal_body(source["id"], lead_external_id="tg:2"))

    assert reply.status == 422


@pytest.mark.usefixtures("warm_window")
def test_GIVEN_a_stale_copy_naming_a_removed_and_a_deactivated_operator_WHEN_appeals_arrive_THEN_neither_gets_one(
    api: Api,
) -> None:
    anna, boris, vera = (api.operator(name, max_load=20) for name in ("Anna", "Boris", "Vera"))
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 10, vera["id"]: 10})
    api.appeal(source["id"])  # the copy now lists all three
    # Another process (not this one's cache) takes Anna off the source and deactivates Boris.
    Weight(source["id"], anna["id"]).update(actions=[Weight.weight.set(0), Weight.serving_operator_id.remove()])
    Operator(boris["id"]).update(actions=[Operator.is_active.set(False)])

    owners = {api.appeal(source["id"])["operator"]["id"] for _ in range(12)}

    # The claim's condition is checked on the fresh items: the stale copy only costs a re-draw.
    assert owners == {vera["id"]}
