"""Response-time and outcome analytics kept from the streams (moto tier): hand-computed
statistics from Lambda-shaped records, real writes through the API and the stream
handlers, redelivery, and the two endpoints' access and validation."""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from chalice.test import Client

from app import app
from chalicelib.core.ids import utc_now
from chalicelib.insight.feed import apply_appeal_analytics, apply_lead_analytics
from chalicelib.models import Lead
from chalicelib.routing.reassignment import run_reassignment
from tests.support import Api, AppealsStream, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys

DAY = "2026-11-02"
SHARD = "shardId-00000001-analytics"
_serializer = TypeSerializer()
_sequence = itertools.count(1)


def at(clock: str) -> str:
    """`09:00:45` on DAY, as the models store it."""
    return f"{DAY}T{clock}.000000Z"


def record(old: dict[str, Any] | None, new: dict[str, Any], key: str = "appeal_id") -> dict[str, Any]:
    """One Lambda DynamoDB stream record with both images and the next sequence number."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": time.time(),
        "Keys": {key: {"S": new[key]}},
        "NewImage": {name: _serializer.serialize(value) for name, value in new.items() if value is not None},
        "SequenceNumber": f"{next(_sequence):021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = {name: _serializer.serialize(value) for name, value in old.items() if value is not None}
    return {"eventID": uuid.uuid4().hex, "eventName": "MODIFY" if old else "INSERT", "dynamodb": change}


class Appeal:
    """An appeal's successive images, each change one stream record."""

    def __init__(self, number: int, source_id: str, created: str) -> None:
        self.row: dict[str, Any] = {
            "appeal_id": f"ap_crafted{number}",
            "lead_id": f"ld_crafted{number}",
            "source_id": source_id,
            "status": "waiting",
            "created_at": at(created),
            "reassign_count": 0,
            "events": [json.dumps({"type": "created", "at": at(created)})],
        }
        self.records = [record(None, self.row)]

    def change(self, event: str, clock: str, **fields: Any) -> Appeal:
        old = copy.deepcopy(self.row)
        self.row.update(fields)
        self.row["events"] = [*self.row["events"], json.dumps({"type": event, "at": at(clock)})]
        self.records.append(record(old, self.row))
        return self

    def assign(self, operator_id: str, clock: str) -> Appeal:
        return self.change("assigned", clock, status="active", operator_id=operator_id, assigned_at=at(clock))

    def accept(self, clock: str) -> Appeal:
        return self.change("accepted", clock, accepted_at=at(clock))

    def close(self, clock: str) -> Appeal:
        return self.change("closed", clock, status="closed", closed_at=at(clock))


def crafted_day(source_id: str, anna: str, boris: str) -> list[dict[str, Any]]:
    """Five appeals on DAY (times hand-picked so every statistic below is computed by hand)."""
    first = Appeal(1, source_id, "09:00:00").assign(anna, "09:00:45").accept("09:01:15").close("09:10:45")
    second = Appeal(2, source_id, "09:05:00").assign(anna, "09:07:00").accept("09:08:40").close("10:07:00")
    third = Appeal(3, source_id, "09:20:00").assign(anna, "09:20:10").accept("09:26:50")
    fourth = Appeal(4, source_id, "10:30:00").assign(anna, "10:30:00")
    fourth.change(
        "reassigned",
        "10:31:30",
        operator_id=boris,
        assigned_at=at("10:31:30"),
        reassign_count=1,
        lapsed_operator_ids={anna},
    ).accept("10:32:00")
    fifth = Appeal(5, source_id, "10:40:00")  # still waiting
    # Interleaved in time order, as the stream would carry them.
    records = [*first.records, *second.records, *third.records, *fourth.records, *fifth.records]
    return sorted(records, key=lambda item: item["dynamodb"]["SequenceNumber"])


def transfer_and_pay(lead_id: str) -> list[dict[str, Any]]:
    lead = {"lead_id": lead_id, "stage": "qualified", "updated_at": at("10:59:00")}
    transferred = {**lead, "stage": "transferred", "stage_changed_at": at("11:00:00"), "updated_at": at("11:00:00")}
    deal = {"lead_id": "deal#dl_crafted1", "deal_lead_id": lead_id, "deal_stage": "kyc", "updated_at": at("11:00:00")}
    paid = {**deal, "deal_stage": "paid", "updated_at": at("12:00:00")}
    return [record(lead, transferred, "lead_id"), record(deal, paid, "lead_id")]


def by_operator(reply: Any) -> dict[str, dict[str, Any]]:
    assert reply.status == 200, reply.body
    return {row["operator_id"]: row for row in reply.body["operators"]}


@pytest.fixture
def crafted(api: Api) -> tuple[str, str, str, list[dict[str, Any]]]:
    anna, boris = api.operator("Anna"), api.operator("Boris")
    source = api.source()
    api.weights(source["id"], {anna["id"]: 1, boris["id"]: 1})
    return source["id"], anna["id"], boris["id"], crafted_day(source["id"], anna["id"], boris["id"])


def test_GIVEN_a_day_of_hand_timed_appeals_WHEN_reading_operator_stats_THEN_counts_and_percentiles_are_exact(
    api: Api, crafted: tuple[str, str, str, list[dict[str, Any]]]
) -> None:
    source_id, anna, boris, records = crafted
    apply_appeal_analytics(records, shard_id=SHARD)
    apply_lead_analytics(transfer_and_pay("ld_crafted1"), shard_id="shardId-leads-1")

    rows = by_operator(api.get(f"/stats/operators?from={DAY}&to={DAY}&source_id={source_id}"))

    # Anna: accepts after 30 s, 100 s, 400 s -> nearest-rank p50 is 100 s (bucket up to 120 s), p90 400 s
    # (bucket up to 420 s); closes after 600 s and 3,600 s -> p50 600, p90 3,600 (exact bucket bounds).
    assert rows[anna] | {"name": "", "operator_id": ""} == {
        "operator_id": "",
        "name": "",
        "assigned": 4,
        "accepted": 3,
        "closed": 2,
        "accept_p50_seconds": 120,
        "accept_p90_seconds": 420,
        "close_p50_seconds": 600,
        "close_p90_seconds": 3600,
        "sla_lapses": 1,
        "reassignments": 1,
        "escalations": 0,
        "transferred": 1,
        "paid": 1,
        "conversion": 0.25,
    }
    assert rows[anna]["name"] == "Anna"
    assert (rows[boris]["assigned"], rows[boris]["accepted"], rows[boris]["accept_p50_seconds"]) == (1, 1, 30)
    assert (rows[boris]["transferred"], rows[boris]["conversion"]) == (0, 0.0)
    # Every source together: the same numbers (one source here); another day: nothing.
    assert by_operator(api.get(f"/stats/operators?from={DAY}&to={DAY}"))[anna] == rows[anna]
    assert by_operator(api.get("/stats/operators?from=2026-11-03&to=2026-11-03"))[anna]["assigned"] == 0


def test_GIVEN_a_day_of_hand_timed_appeals_WHEN_reading_the_timeline_THEN_hours_are_exact(
    api: Api, crafted: tuple[str, str, str, list[dict[str, Any]]]
) -> None:
    source_id, _, _, records = crafted
    apply_appeal_analytics(records, shard_id=SHARD)

    reply = api.get(f"/stats/sources/{source_id}/timeline?from={DAY}T08:00:00Z&to={DAY}T12:00:00Z")

    assert reply.status == 200, reply.body
    hours = [
        (h["hour"][11:13], h["arrivals"], h["assigned"], h["waiting"], h["median_wait_seconds"])
        for h in reply.body["hours"]
    ]
    assert hours == [
        ("08", 0, 0, 0, None),
        # Waits 45 s, 120 s, 10 s -> median 45 s; appeal 2 waited 09:05-09:07, none left at 10:00.
        ("09", 3, 3, 0, 45),
        # Appeal 4 at once (0 s: the first bucket, up to 1 s) and again to Boris; appeal 5 still waits.
        ("10", 2, 2, 1, 1),
        ("11", 0, 0, 1, None),
    ]
    assert reply.body["from"] == f"{DAY}T08:00:00Z" and reply.body["to"] == f"{DAY}T12:00:00Z"


def test_GIVEN_later_days_WHEN_reading_an_earlier_range_THEN_waiting_subtracts_what_came_after(
    api: Api, crafted: tuple[str, str, str, list[dict[str, Any]]]
) -> None:
    source_id, _, _, records = crafted
    next_day = Appeal(6, source_id, "09:00:00")  # waits, on the next day
    next_day.row["created_at"] = next_day.row["created_at"].replace(DAY, "2026-11-03")
    next_day.row["events"] = [json.dumps({"type": "created", "at": next_day.row["created_at"]})]
    apply_appeal_analytics([*records, record(None, next_day.row)], shard_id=SHARD)

    earlier = api.get(f"/stats/sources/{source_id}/timeline?from={DAY}T09:00:00Z&to={DAY}T11:00:00Z").body
    later = api.get(f"/stats/sources/{source_id}/timeline?from=2026-11-03&to=2026-11-03").body

    assert [(h["hour"][11:13], h["waiting"]) for h in earlier["hours"]] == [("09", 0), ("10", 1)]
    assert [h["waiting"] for h in later["hours"]][8:10] == [1, 2]
    assert earlier["as_of"] == later["as_of"] == "2026-11-03T09:00:00Z"


def test_GIVEN_counted_batches_WHEN_redelivered_bisected_or_replayed_THEN_nothing_is_added_twice(
    api: Api, crafted: tuple[str, str, str, list[dict[str, Any]]]
) -> None:
    source_id, anna, _, records = crafted
    half = len(records) // 2
    assert apply_appeal_analytics(records[:half], shard_id=SHARD) > 0
    leads = transfer_and_pay("ld_crafted1")

    apply_appeal_analytics(records[: half // 2], shard_id=SHARD)  # a bisected half of what was counted
    apply_appeal_analytics(records, shard_id=SHARD)  # the whole batch again, overlapping the marks
    assert apply_appeal_analytics(records, shard_id=SHARD) == 0
    apply_lead_analytics(leads, shard_id="shardId-leads-1")
    assert apply_lead_analytics(leads, shard_id="shardId-leads-1") == 0

    rows = by_operator(api.get(f"/stats/operators?from={DAY}&to={DAY}&source_id={source_id}"))
    assert (rows[anna]["assigned"], rows[anna]["accepted"], rows[anna]["closed"], rows[anna]["transferred"]) == (
        4,
        3,
        2,
        1,
    )
    hours = api.get(f"/stats/sources/{source_id}/timeline?from={DAY}&to={DAY}").body["hours"]
    assert sum(h["arrivals"] for h in hours) == 5 and hours[-1]["waiting"] == 1


def stream_of(table: str, key: str) -> Any:
    """A table's changes since the last call, as Lambda would deliver them (moto has no streams)."""
    seen: dict[str, dict[str, Any]] = {}
    numbers = itertools.count(1)

    def records() -> list[dict[str, Any]]:
        client = Lead._get_connection().connection.client
        now: dict[str, dict[str, Any]] = {}
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            now.update({item[key]["S"]: item for item in page["Items"]})
        out = []
        for name in sorted(now):
            old, new = seen.get(name), now[name]
            if old == new:
                continue
            change: dict[str, Any] = {
                "ApproximateCreationDateTime": time.time(),
                "Keys": {key: {"S": name}},
                "NewImage": new,
                "SequenceNumber": f"{next(numbers):021d}",
            }
            change.update({"OldImage": old} if old else {})
            out.append({"eventID": uuid.uuid4().hex, "eventName": "MODIFY" if old else "INSERT", "dynamodb": change})
        seen.update(now)
        return out

    return records


def test_GIVEN_real_work_through_the_api_WHEN_the_stream_handlers_run_THEN_the_stats_count_it(
    api: Api, dev_keys: DevKeys
) -> None:
    appeals_stream, leads_stream = AppealsStream(), stream_of(Lead.Meta.table_name, "lead_id")
    client = Client(app, stage_name="dev")

    def deliver() -> None:
        """Each stream's changes so far, through the real handlers, twice (Lambda retrying the batch)."""
        for name, records, shard in (
            ("appeal_events", appeals_stream.records(), SHARD),
            ("lead_events", leads_stream(), "shardId-leads"),
        ):
            for _ in range(2):
                assert client.lambda_.invoke(name, {"Records": records, "shardId": shard}).payload == {"state": {}}

    anna = api.operator("Anna", max_load=5)
    boris = api.operator("Boris", max_load=5, is_active=False)
    source = api.source(response_sla_seconds=60)
    api.weights(source["id"], {anna["id"]: 10, boris["id"]: 10})
    appeals = [api.appeal(source["id"]) for _ in range(3)]
    assert all(appeal["operator"]["id"] == anna["id"] for appeal in appeals)
    deliver()
    as_anna = api.as_(operator_token(dev_keys, anna["id"]))
    for appeal in appeals[:2]:
        assert as_anna.post(f"/appeals/{appeal['id']}/accept").status == 200
    assert as_anna.post(f"/appeals/{appeals[0]['id']}/close").status == 200
    deliver()
    assert api.patch(f"/operators/{boris['id']}", {"is_active": True}).status == 200
    assert run_reassignment(now=utc_now() + timedelta(seconds=90)).reassigned == 1  # appeal 3 lapses to Boris
    deliver()
    lead_id = appeals[0]["lead_id"]
    assert api.patch(f"/leads/{lead_id}", {"business_domain": "retail"}).status == 200
    for stage in ("contacted", "qualified"):
        assert api.post(f"/leads/{lead_id}/stage", {"stage": stage}).status == 200
    api.post(f"/leads/{lead_id}/analyze")
    transfer = api.post(f"/leads/{lead_id}/transfer")
    assert transfer.status == 201, transfer.body
    deliver()
    for stage in ("kyc", "agreement", "paid"):
        assert api.post(f"/deals/{transfer.body['deal']['id']}/stage", {"stage": stage}).status == 200
    deliver()

    today, tomorrow = utc_now().date(), utc_now().date() + timedelta(days=1)
    window = f"from={today - timedelta(days=1)}&to={tomorrow}"
    rows = by_operator(api.get(f"/stats/operators?{window}&source_id={source['id']}"))
    assert {k: rows[anna["id"]][k] for k in ("assigned", "accepted", "closed", "sla_lapses", "reassignments")} == {
        "assigned": 3,
        "accepted": 2,
        "closed": 1,
        "sla_lapses": 1,
        "reassignments": 1,
    }
    assert (rows[anna["id"]]["transferred"], rows[anna["id"]]["paid"], rows[anna["id"]]["conversion"]) == (
        1,
        1,
        round(1 / 3, 4),
    )
    assert rows[boris["id"]]["assigned"] == 1
    timeline = api.get(f"/stats/sources/{source['id']}/timeline?{window}").body
    assert sum(hour["arrivals"] for hour in timeline["hours"]) == 3
    assert sum(hour["assigned"] for hour in timeline["hours"]) == 4
    assert timeline["as_of"] is not None and datetime.fromisoformat(timeline["as_of"]).tzinfo == UTC


def test_GIVEN_an_operator_WHEN_reading_stats_THEN_only_its_own_row_and_no_timeline(
    api: Api, dev_keys: DevKeys, crafted: tuple[str, str, str, list[dict[str, Any]]]
) -> None:
    source_id, anna, _, records = crafted
    apply_appeal_analytics(records, shard_id=SHARD)
    as_anna = api.as_(operator_token(dev_keys, anna))

    mine = as_anna.get(f"/stats/operators?from={DAY}&to={DAY}")

    assert [row["operator_id"] for row in mine.body["operators"]] == [anna]
    assert mine.body["operators"][0]["assigned"] == 4
    assert as_anna.get(f"/stats/sources/{source_id}/timeline?from={DAY}&to={DAY}").status == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-01&to=2027-01-02", "to"),  # 367 days
        ("from=2026-01-02&to=2026-01-01", "to"),
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("from=yesterday&to=2026-12-01", "from"),
        ("to=2026-12-01", "from"),
    ],
)
def test_GIVEN_a_bad_range_WHEN_asking_THEN_422_names_the_field(api: Api, query: str, field: str) -> None:
    source_id = api.source()["id"]
    for path in ("/stats/operators", f"/stats/sources/{source_id}/timeline"):
        reply = api.get(f"{path}?{query}")
        assert reply.status == 422, (path, reply.body)
        assert [problem["loc"] for problem in reply.body["errors"]] == [["query", field]], reply.body


def test_GIVEN_a_year_WHEN_asking_for_366_days_THEN_it_is_answered(api: Api) -> None:
    source_id = api.source()["id"]
    assert api.get("/stats/operators?from=2024-01-01&to=2024-12-31").status == 200  # a leap year: 366 days
    timeline = api.get(f"/stats/sources/{source_id}/timeline?from=2024-01-01&to=2024-12-31")
    assert timeline.status == 200 and len(timeline.body["hours"]) == 366 * 24


def test_GIVEN_an_unknown_source_WHEN_asking_THEN_404(api: Api) -> None:
    assert api.get(f"/stats/sources/src_missing/timeline?from={DAY}&to={DAY}").status == 404
    assert api.get(f"/stats/operators?from={DAY}&to={DAY}&source_id=src_missing").status == 404
