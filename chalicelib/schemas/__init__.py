"""pydantic v2 models for every input and output."""

__all__ = [
    "appeals",
    "auth",
    "common",
    "contact",
    "intake",
    "jobs",
    "leads",
    "operators",
    "routing_rules",
    "sources",
    "stats",
    "telegram",
]
