"""The stream-fed analytics, read: `GET /stats/operators` and `GET /stats/sources/{id}/timeline`.

Both read only the stats table's rows (`chalicelib.models.stats`), never the
appeals: an operators report is one Query of days × active operators rows (an
operator's own report: a BatchGetItem of its days), a timeline one Query of the
source's hours in the range that had any change (and the rest of its last day), and one
of the day rows after it with the running waiting count: O(hours in range + days since).
Percentiles come from the merged histograms (`chalicelib.insight.stats`): the upper
bound of the bucket holding the nearest-rank value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import Forbidden
from chalicelib.insight.stats import BUCKET_BOUNDS, days, histogram_percentile
from chalicelib.models.operators import all_operator_ids, operators_by_id
from chalicelib.models.sources import get_source_row
from chalicelib.models.stats import ALL_SOURCES, hour_rows, operator_day_rows, operator_day_rows_of, waiting_after
from chalicelib.models.weights import pair_rows
from chalicelib.schemas.stats import (
    OperatorStats,
    OperatorStatsOut,
    OperatorStatsQuery,
    SourceTimelineOut,
    TimelineHour,
    TimelineQuery,
)

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal

__all__ = ["operator_stats", "source_timeline"]

_COUNTERS = ("assigned", "accepted", "closed", "sla_lapses", "reassignments", "escalations", "transferred", "paid")
_BUCKETS = len(BUCKET_BOUNDS) + 1


def _histogram(row: dict[str, Any], letter: str) -> list[int]:
    return [int(row.get(f"{letter}{bucket}", 0)) for bucket in range(_BUCKETS)]


def _sum_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """operator id → summed counters and histograms of its day rows."""
    summed: dict[str, dict[str, Any]] = {}
    for row in rows:
        operator_id = str(row["sk"]).partition("#")[2]
        into = summed.setdefault(operator_id, {"a": [0] * _BUCKETS, "c": [0] * _BUCKETS})
        for name in _COUNTERS:
            into[name] = into.get(name, 0) + int(row.get(name, 0))
        for letter in ("a", "c"):
            into[letter] = [x + y for x, y in zip(into[letter], _histogram(row, letter), strict=True)]
    return summed


def _stats(operator_id: str, name: str, totals: dict[str, Any]) -> OperatorStats:
    counts = {counter: int(totals.get(counter, 0)) for counter in _COUNTERS}
    accept, close = totals.get("a", [0] * _BUCKETS), totals.get("c", [0] * _BUCKETS)
    assigned = counts["assigned"]
    return OperatorStats(
        operator_id=operator_id,
        name=name,
        **counts,
        accept_p50_seconds=histogram_percentile(accept, 50),
        accept_p90_seconds=histogram_percentile(accept, 90),
        close_p50_seconds=histogram_percentile(close, 50),
        close_p90_seconds=histogram_percentile(close, 90),
        conversion=round(counts["transferred"] / assigned, 4) if assigned else None,
    )


def _as_of(rows: list[dict[str, Any]]) -> str | None:
    return max((str(row["as_of"]) for row in rows if row.get("as_of")), default=None)


def operator_stats(query: OperatorStatsQuery, *, viewer: Principal) -> OperatorStatsOut:
    """Per operator over the days: admins see everyone (every operator, or the source's
    operators, zeros included); an operator only its own row."""
    scope = query.source_id or ALL_SOURCES
    if query.source_id:
        get_source_row(query.source_id)  # 404 for an unknown source
    first, last = query.from_.isoformat(), query.to.isoformat()
    if viewer.is_admin:
        rows = operator_day_rows(scope, first, last)
        ids = set(all_operator_ids()) if scope == ALL_SOURCES else {row.operator_id for row in pair_rows(scope)}
    elif viewer.operator_id:
        wanted = [day.isoformat() for day in days(query.from_, query.to)]
        rows = operator_day_rows_of(scope, viewer.operator_id, wanted)
        ids = {viewer.operator_id}
    else:
        raise Forbidden("only admins and operators read operator statistics")
    summed = _sum_rows(rows)
    if not viewer.is_admin:
        summed = {k: v for k, v in summed.items() if k == viewer.operator_id}
    ids |= set(summed)
    names = {op_id: row.name for op_id, row in operators_by_id(sorted(ids)).items()}
    operators = [_stats(op_id, names.get(op_id, ""), summed.get(op_id, {})) for op_id in ids]
    operators.sort(key=lambda item: (item.name.casefold(), item.operator_id))
    return OperatorStatsOut(
        from_=query.from_, to=query.to, source_id=query.source_id, as_of=_as_of(rows), operators=operators
    )


def _bounds(query: TimelineQuery) -> tuple[datetime, datetime]:
    """The first hour's start and the end (exclusive) of the range: a day is whole, a datetime itself."""

    def instant(value: date | datetime, *, end: bool) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        start = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start

    start = instant(query.from_, end=False).replace(minute=0, second=0, microsecond=0)
    return start, instant(query.to, end=True)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_timeline(source_id: str, query: TimelineQuery) -> SourceTimelineOut:
    """The source's hours from `from` to `to`: arrivals, assigned, waiting at the end of
    each hour (the running count less the changes after it) and the median wait."""
    get_source_row(source_id)
    start, end = _bounds(query)
    hours: list[datetime] = []
    moment = start
    while moment < end:
        hours.append(moment)
        moment += timedelta(hours=1)
    last_day = hours[-1].date().isoformat()
    # The range's hours and the rest of its last day; then the days after it and the running count.
    rows = hour_rows(source_id, _stamp(start), f"{last_day}T23:00:00Z")
    total, later_days, latest = waiting_after(source_id, last_day)
    by_hour = {str(row["sk"]): row for row in rows}
    last = _stamp(hours[-1])
    waiting = total - later_days - sum(int(row.get("waiting", 0)) for sk, row in by_hour.items() if sk > last)
    out: list[TimelineHour] = []
    for hour in reversed(hours):
        row = by_hour.get(_stamp(hour), {})
        out.append(
            TimelineHour(
                hour=hour,
                arrivals=int(row.get("arrivals", 0)),
                assigned=int(row.get("assigned", 0)),
                waiting=max(0, waiting),
                median_wait_seconds=histogram_percentile(_histogram(row, "w"), 50),
            )
        )
        waiting -= int(row.get("waiting", 0))
    out.reverse()
    as_of = max(filter(None, (_as_of(rows), latest)), default=None)
    return SourceTimelineOut(source_id=source_id, from_=start, to=end, as_of=as_of, hours=out)
