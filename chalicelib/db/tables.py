"""Shared table settings: names, endpoint and region resolved lazily.

PynamoDB reads `Meta.table_name`, `host` and `region` when it builds a
connection, and rebuilds the connection whenever the table name changes. As
descriptors they are read at call time (never frozen at import time, which the
Chalice test client and per-test table prefixes rely on) while the client is
still built once per table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from chalicelib.core import config

__all__ = ["LISTED", "TableMeta", "TableName", "Word"]

# Partition value of the "newest first" listing indexes on operators, sources
# and leads. These rows are written at human speed, far below the 1,000
# writes/s one GSI partition takes, so one partition keeps listing a Query.
LISTED = "all"


class TableName:
    """`<ENTITY>_TABLE` when the deployment sets it (by Ref), else `<TABLE_PREFIX>-<entity>`."""

    def __init__(self, entity: str) -> None:
        self.entity = entity

    def __get__(self, obj: Any, owner: Any) -> str:
        return config.table_name(self.entity)


class Endpoint:
    def __get__(self, obj: Any, owner: Any) -> str | None:
        return config.dynamodb_endpoint()


class Region:
    def __get__(self, obj: Any, owner: Any) -> str:
        return config.region()


class TableMeta:
    """Base of every model's Meta; subclasses add `table_name = TableName(...)`."""

    host = Endpoint()
    region = Region()
    billing_mode = "PAY_PER_REQUEST"
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3
    max_pool_connections = 64


class Word(StrEnum):
    """A word stored in a table (a status, a stage, an event type): a StrEnum
    that also reads as its plain text in conditions, logs and reprs."""

    def __repr__(self) -> str:
        return repr(self.value)
