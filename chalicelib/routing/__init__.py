"""Where an appeal goes: the draw and its Decision, capacity, each appeal transition once, intake, the line."""

__all__ = [
    "appeals",
    "audit",
    "capacity",
    "counters",
    "draw",
    "followup",
    "intake",
    "line_order",
    "reassignment",
    "skills",
    "source_cache",
    "transitions",
    "views",
    "waiting_line",
]
