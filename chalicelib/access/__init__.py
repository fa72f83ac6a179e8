"""Who is calling and what they may touch: principals, tokens, routes, ownership, bot keys, logins. Fails closed."""

__all__ = [
    "authentication",
    "bot_keys",
    "ownership",
    "principal",
    "queue_signing",
    "routes",
    "secrets",
    "tokens",
    "user_pool",
]
