"""The waiting line's order as one sort-key string, computed once at enqueue:
``fifo`` (arrival order, today's line) or ``priority`` (hot leads, VIPs and
returning customers first) with a proven bound on how far anyone is overtaken.

Key format (the ``waiting_key`` of the sparse waiting index, which drains read
oldest key first)::

    <segment>#<line time: %Y-%m-%dT%H:%M:%S.%fZ, UTC, fixed width>#<appeal_id>

    line time = arrival - credit,   0 <= credit <= max_jump

A ``fifo`` line (and a ``priority`` line's plain appeals) has credit 0, so its
keys are byte for byte today's ``queued#<iso arrival>#<appeal_id>`` and old and
new keys interleave correctly in one line. ``arrival`` is when the appeal first
entered the line: an appeal that comes back to it keeps its place by reusing it.

Priority levels, strictly VIP > hot > returning (a VIP outranks a hot returning
customer): ``level = 4·vip + 2·hot + returning`` in 0..7, hot meaning an AI
score at or above ``hot_threshold``, and ``credit = max_jump · level / 7``
(whole microseconds).

Why nobody starves (guarantee 11). Drains hand out the smallest key present.
Say j is handed out before i although i arrived first (j overtakes i). Both
were waiting then, so key(j) < key(i): a_j − c_j <= a_i − c_i (equal line
times are ordered by id), hence a_j <= a_i + c_j − c_i <= a_i + max_jump.
Only appeals that arrive within ``max_jump`` seconds after i can ever
overtake it: i is served at most ``max_jump`` seconds' worth of arrivals later
than strict FIFO would serve it, whatever the priorities and however long the
line. (A drain that skips i because nobody free may take it, e.g. for lack of
a skill, is not an overtake by order; the bound is about the order.)
Conversely priority works: if i arrived first, j has a higher level, and
a_j − a_i < c_j − c_i (at least max_jump/7 per level step), every drain that
sees both serves j first. Tests check both on random traffic, with a stateful
model of arrivals and drains over the real key strings.

The key is fixed at enqueue: a later rescore does not move a waiting appeal
(moving it would be a write per rescore and could break the bound above).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from chalicelib.schemas.routing_rules import LineMode, LineOrder

__all__ = [
    "LEVELS",
    "QUEUED_SEGMENT",
    "LineKey",
    "LineMode",
    "LineOrder",
    "Priority",
    "format_line_time",
    "line_key",
    "line_time",
    "parse_line_key",
    "priority_credit",
    "priority_level",
    "stored_line_order",
]

QUEUED_SEGMENT = "queued"  # the segment drains read (chalicelib/models/appeals.py)
LEVELS = 7  # highest priority level: VIP, hot and returning at once
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_MICROS = 1_000_000


def stored_line_order(raw: str | None) -> LineOrder:
    """A source's stored line order (its JSON); fifo when it never set one."""
    return LineOrder.model_validate_json(raw) if raw else LineOrder()


@dataclass(frozen=True)
class Priority:
    """What the line knows about an appeal when it enters (score None: not scored yet)."""

    score: float | None = None
    returning: bool = False
    vip: bool = False


def priority_level(order: LineOrder, priority: Priority) -> int:
    """0 (plain, and always in a fifo line) .. 7; VIP > hot > returning."""
    if order.mode is LineMode.FIFO:
        return 0
    hot = priority.score is not None and priority.score >= order.hot_threshold
    return 4 * priority.vip + 2 * hot + priority.returning


def priority_credit(order: LineOrder, priority: Priority) -> timedelta:
    """How far ahead of its arrival the appeal is placed: max_jump · level / 7, never more than max_jump."""
    micros = order.max_jump_seconds * _MICROS * priority_level(order, priority) // LEVELS
    return timedelta(microseconds=micros)


def line_time(order: LineOrder, arrival: datetime, priority: Priority) -> datetime:
    """The time the appeal is sorted by: its arrival minus its credit (UTC)."""
    if arrival.tzinfo is None or arrival.utcoffset() is None:
        raise ValueError("a timezone-aware arrival time is required")
    return arrival.astimezone(UTC) - priority_credit(order, priority)


def format_line_time(moment: datetime) -> str:
    """Fixed-width UTC with microseconds, so strings sort like times (as ``chalicelib.ids.iso``)."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def line_key(
    order: LineOrder,
    arrival: datetime,
    appeal_id: str,
    priority: Priority | None = None,
    *,
    segment: str = QUEUED_SEGMENT,
) -> str:
    """The ``waiting_key`` to store at enqueue."""
    when = line_time(order, arrival, priority or Priority())
    return f"{segment}#{format_line_time(when)}#{appeal_id}"


class LineKey(NamedTuple):
    segment: str
    line_time: datetime
    appeal_id: str


def parse_line_key(key: str) -> LineKey:
    """Splits a ``waiting_key``; ValueError when it is not one."""
    segment, when, appeal_id = key.split("#", 2)
    return LineKey(segment, datetime.strptime(when, _FORMAT).replace(tzinfo=UTC), appeal_id)
