"""Channels: Telegram (intake bot, operator bot), queue, outgoing webhooks."""
