"""Lambda edge: Blueprints with the SQS intake handler and the scheduled jobs."""

__all__ = ["events", "intake", "schedules", "webhooks"]
