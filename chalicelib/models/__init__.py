"""PynamoDB models, one module per table, and the plumbing they share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from botocore.client import BaseClient
from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import current_settings
from chalicelib.db.tables import TableMeta
from chalicelib.models.appeals import Appeal, OpenAppealMarker
from chalicelib.models.leads import Deal, Lead, ScoringModel
from chalicelib.models.operators import Operator
from chalicelib.models.sources import Source
from chalicelib.models.weights import Weight

ALL_MODELS: tuple[type[Model], ...] = (Operator, Source, Weight, Lead, Appeal)
# Models sharing a table with one above (no table of their own to create).
SHARED_TABLE_MODELS: tuple[type[Model], ...] = (OpenAppealMarker, Deal, ScoringModel)

__all__ = [
    "ALL_MODELS",
    "Appeal",
    "Deal",
    "Lead",
    "OpenAppealMarker",
    "Operator",
    "ScoringModel",
    "Source",
    "Weight",
    "count_requests",
    "create_tables",
    "dynamodb_clients",
    "transaction",
]


@lru_cache(maxsize=8)
def _transaction_connection(region: str, host: str | None) -> Connection:
    return Connection(
        region=region,
        host=host,
        connect_timeout_seconds=TableMeta.connect_timeout_seconds,
        read_timeout_seconds=TableMeta.read_timeout_seconds,
        max_retry_attempts=TableMeta.max_retry_attempts,
        max_pool_connections=TableMeta.max_pool_connections,
    )


def transaction() -> TransactWrite:
    """A TransactWrite on the configured endpoint (connection built once)."""
    settings = current_settings()
    return TransactWrite(connection=_transaction_connection(settings.region, settings.dynamodb_endpoint))


def dynamodb_clients() -> Iterator[BaseClient]:
    """Every botocore client the models use, for request-counting hooks."""
    for model in ALL_MODELS + SHARED_TABLE_MODELS:
        yield model._get_connection().connection.client
    settings = current_settings()
    yield _transaction_connection(settings.region, settings.dynamodb_endpoint).client


@contextmanager
def count_requests() -> Iterator[Counter[str]]:
    """Counts DynamoDB API calls by operation while the block runs (all threads);
    what benchmarks and cost tests read, since requests are what a bill is made of."""
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    clients = list(dynamodb_clients())
    for client in clients:
        client.meta.events.register("before-call.dynamodb", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", count)


def create_tables(wait: bool = True) -> list[str]:
    """Create any missing table (local stack and tests; AWS uses the template)."""
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=wait, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    return created
