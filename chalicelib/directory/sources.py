"""Sources (channel bots): their settings and webhook secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.secrets import hash_secret
from chalicelib.core.ids import iso, new_id, utc_now
from chalicelib.db.rows import ensure_well_formed
from chalicelib.db.tables import LISTED
from chalicelib.db.transactions import update_existing
from chalicelib.models.sources import Source, get_source_row, sources_newest_first
from chalicelib.routing.line_order import stored_line_order
from chalicelib.routing.source_cache import source_cache
from chalicelib.schemas.common import Page
from chalicelib.schemas.sources import DEFAULT_SCORE_THRESHOLD, SourceOut

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

    from chalicelib.schemas.sources import SourceCreate, SourcePatch

__all__ = ["create_source", "get_source", "list_sources", "source_out", "update_source"]


def source_out(row: Source) -> SourceOut:
    return SourceOut(
        id=row.source_id,
        name=row.name,
        description=row.description,
        strategy=row.strategy,
        response_sla_seconds=None if row.response_sla_seconds is None else int(row.response_sla_seconds),
        sticky=bool(row.sticky),
        lead_points=float(row.lead_points or 0),
        external_id_prefixes=list(row.external_id_prefixes or ()),
        telegram_webhook_enabled=bool(row.telegram_secret_hash),
        auto_tune=bool(row.auto_tune),
        score_aware=bool(row.score_aware),
        score_threshold=float(row.score_threshold if row.score_threshold is not None else DEFAULT_SCORE_THRESHOLD),
        followup_seconds=None if row.followup_seconds is None else int(row.followup_seconds),
        followup_action=row.followup_action or "escalate",
        telegram_bot_username=row.telegram_bot_username,
        return_accepted_at_shift_end=bool(row.return_accepted_at_shift_end),
        created_at=row.created_at,
        updated_at=row.updated_at,
        required_tags=sorted(row.required_tags or ()),
        fallback_after_seconds=None if row.fallback_after_seconds is None else int(row.fallback_after_seconds),
        line_order=stored_line_order(row.line_order),
    )


def get_source(source_id: str) -> SourceOut:
    return source_out(get_source_row(source_id))


def create_source(request: SourceCreate) -> SourceOut:
    now = iso(utc_now())
    row = Source(
        new_id("src"),
        name=request.name,
        description=request.description,
        strategy=request.strategy.value,
        response_sla_seconds=request.response_sla_seconds,
        sticky=request.sticky,
        lead_points=request.lead_points,
        external_id_prefixes=request.external_id_prefixes or None,
        auto_tune=request.auto_tune or None,
        score_aware=request.score_aware or None,
        score_threshold=request.score_threshold,
        return_accepted_at_shift_end=request.return_accepted_at_shift_end or None,
        required_tags=set(request.required_tags) or None,
        fallback_after_seconds=request.fallback_after_seconds,
        line_order=request.line_order.model_dump_json(),
        followup_seconds=request.followup_seconds,
        followup_action=request.followup_action,
        created_at=now,
        updated_at=now,
        listed=LISTED,
    )
    row.save(condition=Source.source_id.does_not_exist())
    return source_out(row)


def list_sources(limit: int, cursor: str | None) -> Page[SourceOut]:
    rows, following = sources_newest_first(limit, cursor)
    return Page[SourceOut](items=[source_out(row) for row in rows], next=following)


def update_source(source_id: str, patch: SourcePatch) -> SourceOut:
    ensure_well_formed(source_id, "source")
    changes = patch.changes()
    if "strategy" in changes:
        changes["strategy"] = changes["strategy"].value
    if "telegram_secret_token" in changes:
        token = changes.pop("telegram_secret_token")
        changes["telegram_secret_hash"] = hash_secret(token) if token is not None else None
    if changes.get("external_id_prefixes") == []:
        changes["external_id_prefixes"] = None
    if "required_tags" in changes:
        changes["required_tags"] = set(changes["required_tags"]) or None
    if "line_order" in changes:
        changes["line_order"] = patch.line_order.model_dump_json() if patch.line_order else None
    actions: list[Action] = [
        getattr(Source, name).set(value) if value is not None else getattr(Source, name).remove()
        for name, value in changes.items()
    ]
    actions.append(Source.updated_at.set(iso(utc_now())))
    row = Source(source_id)
    update_existing(row, actions, "source")
    source_cache.forget(source_id)  # this process's intake sees the change at once (others within seconds)
    return source_out(row)
