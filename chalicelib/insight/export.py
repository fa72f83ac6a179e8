"""POST /exports: appeals, leads or deals created in a date range, as CSV.

Rows stream from paged Queries straight into a temporary file, one page in
memory at a time; the file then goes to S3 (``EXPORT_BUCKET`` set: a
presigned link valid for an hour) or, locally, under ``.local/exports/``
(``EXPORT_DIR`` to move it). Exports carry no contact details (names, phones,
e-mails) and no message text: those stay behind the per-lead access rules.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import FieldProblem, InvalidInput
from chalicelib.core.ids import iso, new_id, utc_now
from chalicelib.models.appeals import appeals_created_between
from chalicelib.models.leads import deals_created_between, leads_created_between
from chalicelib.models.operators import all_operator_ids
from chalicelib.models.sources import all_sources
from chalicelib.schemas.insight import MAX_EXPORT_DAYS, ExportOut

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chalicelib.schemas.insight import ExportRequest

__all__ = ["COLUMNS", "export"]

LINK_LIFETIME = timedelta(hours=1)
_FIRST_YEAR = 1970

COLUMNS: dict[str, tuple[str, ...]] = {
    "appeals": (
        "appeal_id",
        "source_id",
        "lead_id",
        "status",
        "operator_id",
        "created_at",
        "assigned_at",
        "accepted_at",
        "closed_at",
        "reassign_count",
    ),
    "leads": ("lead_id", "source_id", "stage", "appeals_count", "ai_score", "deal_id", "created_at", "updated_at"),
    "deals": ("deal_id", "deal_lead_id", "deal_stage", "business_domain", "ai_score_at_transfer", "created_at"),
}


def _rows(kind: str, start: str, end: str) -> Iterator[Any]:
    if kind == "leads":
        return leads_created_between(start, end)
    if kind == "deals":
        return deals_created_between(start, end)
    return appeals_created_between(all_operator_ids(), [s.source_id for s in all_sources()], start, end)


def _utc(moment: datetime, field: str) -> datetime:
    try:
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        moment = datetime.min.replace(tzinfo=UTC)
    if moment.year < _FIRST_YEAR:  # nothing here is older; and the stored stamps sort as text from here on
        raise InvalidInput("the range is out of bounds", [FieldProblem(("body", field), "before 1970", "range")])
    return moment


def _validate(request: ExportRequest) -> tuple[datetime, datetime]:
    start, end = _utc(request.from_, "from"), _utc(request.to, "to")
    if end <= start:
        raise InvalidInput("the range is empty", [FieldProblem(("body", "to"), "must be after `from`", "range")])
    if end - start > timedelta(days=MAX_EXPORT_DAYS):
        raise InvalidInput(
            "the range is too long",
            [FieldProblem(("body", "to"), f"at most {MAX_EXPORT_DAYS} days after `from`", "range")],
        )
    return start, end


def export(request: ExportRequest) -> ExportOut:
    start, end = _validate(request)
    columns = COLUMNS[request.kind]
    name = f"{request.kind}-{start:%Y%m%d}-{end:%Y%m%d}-{new_id('ex')[3:]}.csv"
    rows = 0
    with tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", suffix=".csv", delete=False) as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in _rows(request.kind, iso(start), iso(end)):
            writer.writerow(["" if (value := getattr(row, c, None)) is None else value for c in columns])
            rows += 1
    try:
        url, expires = _deliver(Path(out.name), name)
    finally:
        Path(out.name).unlink(missing_ok=True)
    return ExportOut(kind=request.kind, rows=rows, url=url, expires_at=expires)


def _deliver(path: Path, name: str) -> tuple[str, datetime | None]:
    bucket = os.environ.get("EXPORT_BUCKET")
    if not bucket:
        folder = Path(os.environ.get("EXPORT_DIR") or ".local/exports").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        shutil.copyfile(path, target)
        return target.as_uri(), None
    import boto3  # only when exporting to S3: the other routes never pay for an S3 client

    s3 = boto3.client("s3")
    key = f"exports/{name}"
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": "text/csv"})  # multipart, from disk
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(LINK_LIFETIME.total_seconds())
    )
    return url, utc_now() + LINK_LIFETIME
