"""What the insight routes read and answer: the what-if simulation, weight suggestions, exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from chalicelib.models.sources import Strategy
from chalicelib.schemas.common import EntityId, Input, Output, Query
from chalicelib.schemas.sources import MAX_WEIGHTS_PER_SOURCE

__all__ = [
    "MAX_EXPORT_DAYS",
    "MAX_SIMULATED_APPEALS",
    "ExportOut",
    "ExportRequest",
    "OperatorConversion",
    "SimulatedOperator",
    "SimulationOut",
    "SimulationRequest",
    "SimulationSummary",
    "SuggestionsApplied",
    "SuggestionsOut",
    "SuggestionsQuery",
]

MAX_SIMULATED_APPEALS = 10_000  # chalicelib.insight.replay.MAX_REPLAY_APPEALS
DEFAULT_SIMULATED_APPEALS = 1_000
MAX_EXPORT_DAYS = 366

# A proposed weight may be 0 (the operator takes part in nothing) but never negative.
ProposedWeight = Annotated[int, Field(ge=0, le=100)]
Capacity = Annotated[int, Field(ge=0, le=1000)]
LastN = Annotated[int, Field(ge=1, le=MAX_SIMULATED_APPEALS)]


class SimulationRequest(Input):
    weights: Annotated[dict[EntityId, ProposedWeight], Field(min_length=1, max_length=MAX_WEIGHTS_PER_SOURCE)] = Field(
        description="The proposed weight set: operator id → weight (0..100)"
    )
    strategy: Strategy | None = Field(default=None, description="The proposed strategy; absent: the source's own")
    capacities: dict[EntityId, Capacity] = Field(
        default_factory=dict, description="max_load per operator; absent operators keep their current max_load"
    )
    sla_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] | None = Field(
        default=None, description="The response SLA to count lapses against; absent: the source's own"
    )
    n: LastN = Field(
        default=DEFAULT_SIMULATED_APPEALS,
        description=f"How many of the latest appeals to replay (≤ {MAX_SIMULATED_APPEALS:,})",
    )
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(default=0, description="Same seed, same answer")


class SimulationSummary(Output):
    appeals: int
    assigned: int
    never_assigned: int
    waited: int = Field(description="Appeals not placed on arrival")
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None
    sla_lapses: int


class SimulatedOperator(Output):
    operator_id: str
    operator_name: str
    proposed_weight: int
    predicted_share: float
    predicted_assigned: int
    predicted_mean_load: float
    predicted_max_load: int
    recorded_share: float
    recorded_assigned: int
    recorded_mean_load: float
    recorded_max_load: int


class SimulationOut(Output):
    source_id: str
    strategy: Strategy
    seed: int
    appeals: int = Field(description="How many past appeals were replayed (closed or still active)")
    predicted: SimulationSummary
    recorded: SimulationSummary
    operators: list[SimulatedOperator]


class SuggestionsQuery(Query):
    n: LastN = Field(DEFAULT_SIMULATED_APPEALS, description="How many of the latest appeals the estimate reads")


class OperatorConversion(Output):
    operator_id: str
    operator_name: str
    current_weight: int
    suggested_weight: int
    appeals: int
    conversions: int = Field(description="Appeals whose lead reached `transferred`")
    paid: int = Field(description="Of those, appeals whose lead's deal reached `paid`")
    conversion_mean: float = Field(description="Posterior mean of the conversion rate")
    conversion_low: float = Field(description="Lower end of the 90 % credible interval")
    conversion_high: float = Field(description="Upper end of the 90 % credible interval")
    p_best: float = Field(description="Probability of being the best converter of the set")
    evidence: str


class SuggestionsOut(Output):
    source_id: str
    appeals: int
    auto_tune: bool
    operators: list[OperatorConversion]


class SuggestionsApplied(Output):
    source_id: str
    reason: str
    weights: dict[str, int]
    changed: int


class ExportRequest(Input):
    kind: Literal["appeals", "leads", "deals"] = Field(description="What to export")
    from_: datetime = Field(alias="from", description="Start of the range (inclusive), ISO 8601")
    to: datetime = Field(description="End of the range (exclusive), ISO 8601")


class ExportOut(Output):
    kind: str
    rows: int
    url: str = Field(description="A presigned S3 link (AWS) or a file:// path (local)")
    expires_at: datetime | None
