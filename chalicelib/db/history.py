"""Histories kept on the row they describe (appeals, leads, deals): a list of
JSON events appended in the same write as the change."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.attributes import ListAttribute
    from pynamodb.expressions.update import Action

__all__ = ["append_to"]


def append_to(attribute: ListAttribute[str], *events: str) -> Action:
    """`SET events = list_append(if_not_exists(events, []), :new)`."""
    return attribute.set((attribute | []).append(list(events)))
