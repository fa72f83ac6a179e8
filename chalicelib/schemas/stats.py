from __future__ import annotations

from chalicelib.schemas.common import Output


class OperatorDistribution(Output):
    id: str
    name: str
    weight: int
    target_share: float
    assigned_total: int
    actual_share: float
    active_now: int


class SourceDistribution(Output):
    source_id: str
    name: str
    strategy: str
    total_appeals: int
    waiting_now: int
    # When the newest appeal change counted in total_appeals / waiting_now happened
    # (they come from the appeals stream, usually within a second); None before the first.
    as_of: str | None = None
    operators: list[OperatorDistribution]


class OperatorAvailability(Output):
    id: str
    name: str
    weight: int
    is_active: bool
    current_load: int
    max_load: int
    is_available: bool


class SourceOperators(Output):
    source_id: str
    operators: list[OperatorAvailability]
