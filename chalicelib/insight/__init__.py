"""What routing learns from its history: pure functions (stats, conversion, suggestions, replay), and services."""

__all__ = ["conversion", "history", "replay", "simulation", "stats", "suggestions"]
