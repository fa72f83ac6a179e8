"""Fake servers on loopback (the Telegram Bot API, a webhook receiver) for tests, benchmarks and local runs."""
