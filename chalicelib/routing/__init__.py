"""Where an appeal goes: the draw and its Decision, capacity, each appeal transition once, intake, the line."""

__all__ = [
    "appeals",
    "audit",
    "capacity",
    "counters",
    "draw",
    "intake",
    "reassignment",
    "transitions",
    "views",
    "waiting_line",
]
