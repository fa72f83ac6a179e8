"""PynamoDB models, one module per table; each module owns the queries on its table and indexes."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chalicelib.db.transactions import transaction_connection
from chalicelib.models.appeals import Appeal, LeadMembership, MessageAlias, OpenAppealMarker
from chalicelib.models.leads import Deal, Lead, LeadContacts, LeadNote, ScoringModel
from chalicelib.models.messages import AppealMessage, ReplyKey
from chalicelib.models.notifications import (
    ChatLink,
    Delivery,
    LinkCode,
    SentMarker,
    TelegramNote,
    WebhookSubscription,
)
from chalicelib.models.operators import Operator
from chalicelib.models.sources import Source
from chalicelib.models.stats import StatsRow
from chalicelib.models.weights import Weight, WeightHistory

if TYPE_CHECKING:
    from collections.abc import Iterator

    from botocore.client import BaseClient
    from pynamodb.models import Model

ALL_MODELS: tuple[type[Model], ...] = (Operator, Source, Weight, Lead, Appeal, SentMarker, StatsRow)
# Models sharing a table with one above (no table of their own to create).
SHARED_TABLE_MODELS: tuple[type[Model], ...] = (
    OpenAppealMarker,
    Deal,
    ScoringModel,
    TelegramNote,
    LinkCode,
    ChatLink,
    WebhookSubscription,
    Delivery,
    MessageAlias,
    LeadMembership,
    LeadContacts,
    WeightHistory,
    LeadNote,
    AppealMessage,
    ReplyKey,
)

__all__ = [
    "ALL_MODELS",
    "Appeal",
    "AppealMessage",
    "Deal",
    "Lead",
    "LeadContacts",
    "LeadMembership",
    "LeadNote",
    "MessageAlias",
    "OpenAppealMarker",
    "Operator",
    "ReplyKey",
    "ScoringModel",
    "Source",
    "StatsRow",
    "Weight",
    "count_requests",
    "create_tables",
    "dynamodb_clients",
]


def dynamodb_clients() -> Iterator[BaseClient]:
    """Every botocore client the models use, for request-counting hooks."""
    for model in ALL_MODELS + SHARED_TABLE_MODELS:
        yield model._get_connection().connection.client
    yield transaction_connection().client


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
