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
    "sources",
    "stats",
    "telegram",
]
