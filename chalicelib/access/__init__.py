"""Who is calling and what they may touch: principals, tokens, the route table, ownership, bot keys. Fails closed."""

__all__ = ["authentication", "bot_keys", "ownership", "principal", "queue_signing", "routes", "secrets", "tokens"]
