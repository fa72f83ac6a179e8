"""The default scorer: points anyone can read, useful with no data at all.

Every point is a named factor, so the reason a lead scored 0.72 is the list
of what added up to it.
"""

from __future__ import annotations

from chalicelib.scoring.base import LeadFeatures, Score, ScorerName, describe, explain, recommend

VERSION = "rules-v1"

BASE = 0.30
STAGE_POINTS = {"new": 0.0, "contacted": 0.10, "qualified": 0.20, "transferred": 0.25, "lost": -0.30}
# Each message after the first shows engagement, up to a cap.
POINTS_PER_EXTRA_MESSAGE = 0.03
MAX_MESSAGE_POINTS = 0.15
RETURNING_LEAD_POINTS = 0.05
BUSINESS_DOMAIN_POINTS = 0.20
# Leads cool off: nothing for a week, then less and less.
COOLING = ((30.0, -0.15), (7.0, -0.05))


class RulesScorer:
    name: ScorerName = "rules"

    def score(self, features: LeadFeatures) -> Score:
        points = {
            "source": features.source_points,
            f"stage={features.stage}": STAGE_POINTS.get(features.stage, 0.0),
            "message_count": min(MAX_MESSAGE_POINTS, POINTS_PER_EXTRA_MESSAGE * max(0, features.message_count - 1)),
            "returning_lead": RETURNING_LEAD_POINTS if features.appeals_count > 1 else 0.0,
            "business_domain": BUSINESS_DOMAIN_POINTS if features.business_domain else 0.0,
            "days_since_created": next(
                (penalty for days, penalty in COOLING if features.days_since_created > days), 0.0
            ),
        }
        score = round(min(1.0, max(0.0, BASE + sum(points.values()))), 4)
        recommendation, why = recommend(score, features)
        factors = explain(BASE, points)
        named = describe(factors[1:], "no factor beyond the base")
        return Score(
            score=score,
            recommendation=recommendation,
            reason=f"{why}; base {BASE:.2f}, {named}",
            factors=factors,
            model_version=VERSION,
        )
