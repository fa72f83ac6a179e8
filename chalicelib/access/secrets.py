"""Secrets we must recognise but never store."""

from __future__ import annotations

import hashlib

__all__ = ["hash_secret"]


def hash_secret(token: str) -> str:
    # Webhook tokens are random and high-entropy (not passwords): a plain
    # digest is enough to make a stolen table useless for forging requests.
    return hashlib.sha256(token.encode()).hexdigest()
