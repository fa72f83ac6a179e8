"""Channels: appeals in (intake queue, Telegram webhook), messages out (Bot API, operator bot, signed webhooks)."""

__all__ = ["operator_messages", "queue", "telegram", "telegram_api", "webhook_signing", "webhooks"]
