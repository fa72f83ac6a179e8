"""Lambda edge: Blueprints with the SQS intake handler and the scheduled jobs."""

__all__ = ["intake", "schedules"]
