"""Where an appeal goes: the draw and its Decision, capacity, each appeal transition once, intake, the line."""

__all__ = ["appeals", "audit", "draw", "reassignment", "transitions", "waiting_line"]
