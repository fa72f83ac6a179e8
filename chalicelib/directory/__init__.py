"""Who serves which channel: operators, sources, weights, the caller's own profile and distribution stats."""

__all__ = ["aggregates", "me", "operators", "schedules", "sources", "stats", "telegram_links", "weights"]
