"""Reading one row by its id, and a listing index page newest first: written
once here, used by every model module for its own table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.core.errors import NotFound
from chalicelib.core.ids import is_well_formed
from chalicelib.db.paging import decode_cursor, encode_cursor, take_rows_page

if TYPE_CHECKING:
    from pynamodb.indexes import Index

__all__ = ["ensure_well_formed", "get_row", "newest_first"]

M = TypeVar("M", bound=Model)


def get_row(
    model: type[M],
    entity_id: str,
    kind: str,
    *,
    consistent: bool = True,
    prefix: str = "",
    key: str | None = None,
    attributes: list[str] | None = None,
) -> M:
    """The row named by `entity_id`, or NotFound. An id that is not one of ours
    (or lacks the kind's `prefix`) is answered without a database round trip.
    `key` is the stored key when it is not the id itself (a deal's `deal#<id>`);
    `attributes` reads only those (a cheap existence or ownership check)."""
    ensure_well_formed(entity_id, kind, prefix)
    try:
        return model.get(key or entity_id, consistent_read=consistent, attributes_to_get=attributes)
    except DoesNotExist:
        raise NotFound.entity(kind, entity_id) from None


def ensure_well_formed(entity_id: str, kind: str, prefix: str = "") -> None:
    """NotFound for a string that cannot name an entity of this kind (no database call)."""
    if not is_well_formed(entity_id) or not entity_id.startswith(prefix):
        raise NotFound.entity(kind, entity_id)


def newest_first(
    model: type[M], index: Index[M], partition: str, limit: int, cursor: str | None
) -> tuple[list[M], str | None]:
    """One page of a KEYS_ONLY listing index (`partition` + time), newest
    first, then the rows themselves; a cursor from any other listing is refused."""
    hash_name, range_name = _index_keys(index)
    table_key = next(a.attr_name for a in model.get_attributes().values() if a.is_hash_key)
    start, _ = decode_cursor(cursor, (table_key, hash_name, range_name), pinned={hash_name: partition})

    def query(**kw: Any) -> Any:
        return index.query(partition, scan_index_forward=False, **kw)

    rows, last = take_rows_page(query, model, limit, start)
    return rows, encode_cursor(last)


def _index_keys(index: Index[Any]) -> tuple[str, str]:
    attributes = index.Meta.attributes.values()
    hash_name = next(a.attr_name for a in attributes if a.is_hash_key)
    range_name = next(a.attr_name for a in attributes if a.is_range_key)
    return hash_name, range_name
