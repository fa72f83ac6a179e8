"""What routing learns from its history, as pure functions: stats, conversion, weight suggestions, what-if replay."""

__all__ = ["conversion", "replay", "stats", "suggestions"]
