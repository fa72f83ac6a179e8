"""What routing learns from its history: pure functions (stats, conversion, suggestions, replay), and services."""

__all__ = [
    "advice",
    "conversion",
    "daily",
    "export",
    "feed",
    "history",
    "replay",
    "reports",
    "simulation",
    "stats",
    "suggestions",
]
