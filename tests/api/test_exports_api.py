"""POST /exports: CSV of appeals, leads or deals for a date range, to S3 (moto) or a local file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import boto3

from chalicelib.core.ids import utc_now
from chalicelib.models import count_requests

if TYPE_CHECKING:
    import pytest

    from tests.support import Api

BUCKET = "leadcrm-exports-test"


def window(days_before: int = 1, days_after: int = 1) -> dict[str, str]:
    now = utc_now()
    return {
        "from": (now - timedelta(days=days_before)).isoformat(),
        "to": (now + timedelta(days=days_after)).isoformat(),
    }


def test_GIVEN_appeals_WHEN_exporting_to_s3_THEN_a_presigned_link_to_every_row(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_BUCKET", BUCKET)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    anna = api.operator("Anna", max_load=1)
    source_id = api.source()["id"]
    api.weights(source_id, {anna["id"]: 10})
    made = {api.appeal(source_id)["id"] for _ in range(3)}  # one assigned, two waiting

    reply = api.post("/exports", {"kind": "appeals", **window()})

    assert reply.status == 201, reply.body
    assert reply.body["rows"] == 3 and reply.body["expires_at"] is not None
    link = urlparse(reply.body["url"])
    assert BUCKET in link.netloc + link.path and "Signature" in link.query
    key = link.path.split(f"{BUCKET}/", 1)[-1].lstrip("/")
    text = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["appeal_id"] for row in rows} == made
    assert sorted(row["status"] for row in rows) == ["active", "waiting", "waiting"]
    assert "message" not in rows[0]


def test_GIVEN_leads_WHEN_exporting_locally_THEN_a_file_paged_by_100_and_the_range_holds(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EXPORT_BUCKET", raising=False)
    monkeypatch.setenv("EXPORT_DIR", str(tmp_path))
    source_id = api.source()["id"]
    leads = {api.appeal(source_id)["lead_id"] for _ in range(105)}

    with count_requests() as counts:
        reply = api.post("/exports", {"kind": "leads", **window()})
    later = api.post("/exports", {"kind": "leads", **window(days_before=-1, days_after=2)})

    assert reply.status == 201, reply.body
    assert reply.body["rows"] == 105 and reply.body["url"].startswith("file://")
    with Path(urlparse(reply.body["url"]).path).open(encoding="utf-8") as handle:
        assert {row["lead_id"] for row in csv.DictReader(handle)} == leads
    assert counts["BatchGetItem"] == 2 and "Scan" not in counts
    assert later.body["rows"] == 0


def test_GIVEN_bad_ranges_WHEN_exporting_THEN_422_names_the_field(api: Api) -> None:
    too_long = api.post("/exports", {"kind": "deals", **window(days_before=400, days_after=0)})
    backwards = api.post("/exports", {"kind": "deals", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    bad_kind = api.post("/exports", {"kind": "contacts", **window()})
    ancient = api.post("/exports", {"kind": "leads", "from": "0001-01-01T00:00:00+05:00", "to": "0001-02-01T00:00:00Z"})

    assert (too_long.status, [e["path"] for e in too_long.body["errors"]]) == (422, ["body.to"])
    assert (backwards.status, [e["path"] for e in backwards.body["errors"]]) == (422, ["body.to"])
    assert (bad_kind.status, [e["path"] for e in bad_kind.body["errors"]]) == (422, ["body.kind"])
    assert (ancient.status, [e["path"] for e in ancient.body["errors"]]) == (422, ["body.from"])
