"""Histories kept on the row they describe (appeals, leads, deals): a list of
JSON events appended in the same write as the change."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute
from pynamodb.expressions.update import Action


def append_to(attribute: ListAttribute, *events: str) -> Action:
    """`SET events = list_append(if_not_exists(events, []), :new)`."""
    return attribute.set((attribute | []).append(list(events)))
