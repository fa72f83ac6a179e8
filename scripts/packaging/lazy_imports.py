"""What the packaged app must not import at cold start: the list the
cold-start benchmark reports on and a contract test holds the app to."""

from __future__ import annotations

__all__ = ["MUST_STAY_LAZY"]

# Loaded only by the functions that use them; `import app` must not pull them in.
MUST_STAY_LAZY = (
    "numpy",
    "chalicelib.scoring.llm",
    "chalicelib.scoring.trainer",
    "boto3",
    "jwt",
    "cryptography",
    "phonenumbers",
    "email_validator",
    "aws_lambda_powertools.utilities.batch",
    # Development only (the backtest's reference model): not even in the bundle.
    "sklearn",
)
