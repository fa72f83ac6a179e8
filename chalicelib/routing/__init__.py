"""Where an appeal goes: the draw and its Decision, capacity, each appeal transition once, intake, the line."""

__all__ = [
    "appeal_notes",
    "appeals",
    "audit",
    "capacity",
    "counters",
    "draw",
    "followup",
    "followup_job",
    "intake",
    "line_order",
    "reassignment",
    "skills",
    "source_cache",
    "transitions",
    "views",
    "waiting_line",
]
