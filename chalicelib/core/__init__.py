"""What every layer needs: settings, ids and times, domain errors, logs and metrics."""

__all__ = ["config", "errors", "ids", "observability"]
