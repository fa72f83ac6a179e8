"""The lead funnel: leads, stage moves, the transfer rule and the deals it creates."""

__all__ = ["deals", "lead_state", "leads", "stages", "transfer"]
