"""A source's recent appeals as the replay and the conversion estimate read them,
loaded from the operator index newest first (never a Scan).

There is no appeals-by-source index; the operator index (`by_operator`,
`<status>#<created_at>#<id>`) holds every appeal that was ever assigned, with
the listing projection's times (created, assigned, accepted, closed). So the
source's last N appeals are a k-way merge, newest first, of 2k lazily paged
Queries (closed and active, for each of the k operators who ever served the
source), stopped after N. Appeals still waiting in the line (never assigned)
are not history yet and are left out.

Times: arrival = created_at; recorded wait = assigned_at − created_at;
handling = closed_at − assigned_at (still active: until the last moment the
loaded rows record, a lower bound that keeps the answer the same between
calls); accept delay = accepted_at − assigned_at (never accepted: the
handling time). After a reassignment `assigned_at` is the last assignment's.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.insight.replay import PastAppeal
from chalicelib.models.appeals import ACTIVE, CLOSED, operator_source_appeals
from chalicelib.models.weights import pair_rows

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chalicelib.models.appeals import Appeal

__all__ = ["RecentAppeal", "recent_appeals"]

# Rows a page reads: big enough that N = 10,000 from a few operators is a few dozen requests.
_PAGE = 500


@dataclass(frozen=True)
class RecentAppeal:
    past: PastAppeal
    lead_id: str
    operator_id: str


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _as_past(row: Appeal, now: float) -> RecentAppeal | None:
    arrival = _seconds(row.created_at)
    assigned = _seconds(row.assigned_at)
    if arrival is None or assigned is None or row.operator_id is None:
        return None
    closed = _seconds(row.closed_at)
    accepted = _seconds(row.accepted_at)
    handling = max(0.0, (closed if closed is not None else now) - assigned)
    accept_delay = max(0.0, accepted - assigned) if accepted is not None else handling
    past = PastAppeal(
        appeal_id=row.appeal_id,
        arrival=arrival,
        handling_seconds=handling,
        accept_delay_seconds=accept_delay,
        recorded_operator_id=row.operator_id,
        recorded_wait_seconds=max(0.0, assigned - arrival),
    )
    return RecentAppeal(past, row.lead_id, row.operator_id)


def recent_appeals(source_id: str, n: int) -> list[RecentAppeal]:
    """The source's newest `n` assigned appeals (closed or active), newest first."""
    operator_ids = [row.operator_id for row in pair_rows(source_id)]
    page = max(1, min(n, _PAGE))
    streams: list[Iterator[Appeal]] = [
        operator_source_appeals(operator_id, source_id, status, page)
        for operator_id in operator_ids
        for status in (CLOSED, ACTIVE)
    ]
    newest = heapq.merge(*streams, key=lambda row: (row.created_at, row.appeal_id), reverse=True)
    rows = list(itertools.islice(newest, n))
    stamps = [_seconds(s) for row in rows for s in (row.created_at, row.assigned_at, row.accepted_at, row.closed_at)]
    last = max((stamp for stamp in stamps if stamp is not None), default=0.0)
    return [recent for row in rows if (recent := _as_past(row, last)) is not None]
