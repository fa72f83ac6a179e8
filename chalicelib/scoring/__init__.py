"""Lead scoring: one interface (`base.Scorer`), three backends.

Nothing here is imported by the request path until a lead is scored, and the
trainer's numpy import happens only inside `trainer.train`, so the API and
intake functions do not pay for it at cold start.
"""

__all__ = ["backtest", "base", "llm", "metrics", "model", "rules", "service", "trainer"]
