"""Where appeals come from: the intake queue and the Telegram webhook."""

__all__ = ["queue", "telegram"]
