"""HTTP edge: Blueprints with thin routes (parse → call a service → serialise)."""

__all__ = [
    "admin",
    "appeals",
    "auth",
    "conditional",
    "console",
    "contract",
    "deals",
    "health",
    "http",
    "leads",
    "me",
    "observability",
    "openapi",
    "operators",
    "scoring",
    "sources",
    "stats",
    "telegram",
]
