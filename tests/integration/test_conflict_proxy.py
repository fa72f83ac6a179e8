"""The conflict-faithful proxy answers as DynamoDB does (scripts/local/conflict_proxy.py).

The overlap tests use a long service time (HOLD, far beyond any scheduling
jitter), and send the second request only once the proxy reports the first
one's items held, so "overlapping" is a fact of the test, not a hope.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from chalicelib.db.transactions import Cancelled, Transaction, is_contention
from chalicelib.models import Operator
from scripts.local.conflict_proxy import (
    CONFLICT_MESSAGE,
    ConflictProxy,
    ConflictProxyProcess,
    cancellation_body,
    conflict_exception_body,
)
from tests.integration.helpers import new_operator, race, tables_on

if TYPE_CHECKING:
    from collections.abc import Iterator

HOLD = 1.0  # seconds an in-flight transaction holds its items in these tests
CONFLICT = {"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE}
NONE = {"Code": "None"}


def dynamodb(endpoint: str) -> Any:
    """A plain client that never retries, so every answer is seen as sent."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(max_pool_connections=64, retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def slow_proxy(dynamodb_engine: str) -> Iterator[ConflictProxy]:
    with ConflictProxy(dynamodb_engine, service_time=HOLD) as proxy:
        yield proxy


@pytest.fixture
def table(slow_proxy: ConflictProxy) -> str:
    """A fresh (pk, sk) table; its key schema is what the proxy reads Put keys with."""
    name = f"proxy-{uuid.uuid4().hex[:10]}"
    dynamodb(slow_proxy.endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    slow_proxy.reset()
    return name


def key(name: str) -> dict[str, Any]:
    return {"pk": {"S": name}, "sk": {"S": "row"}}


def put(table: str, name: str, value: int) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {**key(name), "value": {"N": str(value)}}}}


def add(table: str, name: str, amount: int = 1) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": key(name),
            "UpdateExpression": "ADD #v :n",
            "ExpressionAttributeNames": {"#v": "value"},
            "ExpressionAttributeValues": {":n": {"N": str(amount)}},
        }
    }


def value_of(endpoint: str, table: str, name: str) -> int | None:
    item = dynamodb(endpoint).get_item(TableName=table, Key=key(name), ConsistentRead=True).get("Item")
    return int(item["value"]["N"]) if item else None


class Held:
    """A transaction in flight on a thread; its items stay held until `join` (at least the
    service time), so no scheduler delay on a loaded machine ends the hold before the test's
    contending requests arrive."""

    def __init__(self, thread: threading.Thread, gate: threading.Event) -> None:
        self._thread = thread
        self._gate = gate

    def join(self) -> None:
        self._gate.set()
        self._thread.join()


def in_flight(proxy: ConflictProxy, work: Any) -> Held:
    """Starts `work` on a thread and returns once its transaction holds its items."""
    gate = threading.Event()
    proxy.engine.release = gate
    held_before = proxy.held()
    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 30
    while proxy.held() == held_before:
        assert time.monotonic() < deadline, "the first transaction never reached the proxy"
        time.sleep(0.001)
    return Held(thread, gate)


# --- the answers' shape, as data ----------------------------------------------------


def test_GIVEN_the_second_of_three_items_conflicts_THEN_the_cancellation_reads_as_DynamoDB_documents_it() -> None:
    assert cancellation_body([False, True, False]) == {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "CancellationReasons": [NONE, CONFLICT, NONE],
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, TransactionConflict, None]",
    }
    assert conflict_exception_body() == {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
        "Message": "Transaction is ongoing for the item",
    }


# --- transactions against transactions -------------------------------------------------


def test_GIVEN_a_transaction_in_flight_WHEN_another_touches_one_of_its_items_THEN_that_one_is_cancelled_with_aligned_reasons(  # noqa: E501
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)
    first = in_flight(slow_proxy, lambda: client.transact_write_items(TransactItems=[put(table, "hot", 1)]))

    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[put(table, "a", 2), add(table, "hot", 5), put(table, "b", 2)])
    first.join()

    response = refused.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == cancellation_body([False, True, False])["Message"]
    assert response["CancellationReasons"] == [NONE, CONFLICT, NONE]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The first committed; nothing of the cancelled one was written.
    assert value_of(slow_proxy.endpoint, table, "hot") == 1
    assert value_of(slow_proxy.endpoint, table, "a") is None and value_of(slow_proxy.endpoint, table, "b") is None
    stats = slow_proxy.stats()
    assert (stats.transaction_conflicts, stats.requests["TransactWriteItems"]) == (1, 2)
    assert stats.conflicted_items == {f'{table} {{"pk":{{"S":"hot"}},"sk":{{"S":"row"}}}}': 1}


def test_GIVEN_two_transactions_on_one_item_released_together_THEN_exactly_one_commits(
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)

    def attempt(index: int) -> str:
        try:
            client.transact_write_items(TransactItems=[add(table, "hot", 10**index), put(table, f"own-{index}", 1)])
        except ClientError as exc:
            return str([reason["Code"] for reason in exc.response["CancellationReasons"]])
        return "committed"

    outcomes = race(2, attempt)

    assert sorted(outcomes) == ["['TransactionConflict', 'None']", "committed"]
    winner = outcomes.index("committed")
    assert value_of(slow_proxy.endpoint, table, "hot") == 10**winner
    assert value_of(slow_proxy.endpoint, table, f"own-{1 - winner}") is None


def test_GIVEN_two_transactions_on_different_items_of_one_table_released_together_THEN_both_commit(
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)

    race(
        2,
        lambda index: client.transact_write_items(
            TransactItems=[add(table, f"item-{index}"), put(table, f"own-{index}", 1)]
        ),
    )

    assert [value_of(slow_proxy.endpoint, table, f"item-{i}") for i in range(2)] == [1, 1]
    assert [value_of(slow_proxy.endpoint, table, f"own-{i}") for i in range(2)] == [1, 1]
    assert slow_proxy.stats().conflicts == 0


# --- single writes, and the end of the hold -------------------------------------------


def test_GIVEN_a_transaction_in_flight_WHEN_single_writes_touch_its_item_THEN_each_gets_TransactionConflictException_until_the_hold_ends(  # noqa: E501
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)
    started = time.monotonic()
    first = in_flight(slow_proxy, lambda: client.transact_write_items(TransactItems=[put(table, "hot", 1)]))

    refusals = []
    for write in (
        lambda: client.update_item(
            TableName=table,
            Key=key("hot"),
            UpdateExpression="SET flag = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
        ),
        lambda: client.put_item(TableName=table, Item={**key("hot"), "value": {"N": "7"}}),
        lambda: client.delete_item(TableName=table, Key=key("hot")),
    ):
        with pytest.raises(ClientError) as refused:
            write()
        refusals.append(refused.value.response["Error"])
    client.put_item(TableName=table, Item={**key("elsewhere"), "value": {"N": "3"}})  # another item: not held
    first.join()
    held_for = time.monotonic() - started

    assert refusals == [{"Code": "TransactionConflictException", "Message": "Transaction is ongoing for the item"}] * 3
    assert held_for >= HOLD, "the hold lasts the service time even though the engine answered at once"
    assert value_of(slow_proxy.endpoint, table, "hot") == 1
    # The hold is over: writes pass again.
    client.update_item(
        TableName=table,
        Key=key("hot"),
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "value"},
        ExpressionAttributeValues={":v": {"N": "8"}},
    )
    client.transact_write_items(TransactItems=[add(table, "hot")])
    assert value_of(slow_proxy.endpoint, table, "hot") == 9
    assert slow_proxy.stats().write_conflicts == 3


def test_GIVEN_a_transaction_in_flight_WHEN_a_transactional_read_touches_its_item_THEN_it_is_cancelled_and_plain_reads_pass(  # noqa: E501
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)
    client.put_item(TableName=table, Item={**key("hot"), "value": {"N": "1"}})
    first = in_flight(slow_proxy, lambda: client.transact_write_items(TransactItems=[add(table, "hot")]))

    with pytest.raises(ClientError) as refused:
        client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("hot")}}])
    plain = client.get_item(TableName=table, Key=key("hot"), ConsistentRead=True)["Item"]
    first.join()

    assert refused.value.response["CancellationReasons"] == [CONFLICT]
    # A plain read is answered, not refused nor held: before or after the engine applied the
    # transaction (the proxy forwards it while holding its items; on a loaded machine the read
    # can overtake that forward), so either value, and the transaction's own once it is done.
    assert plain["value"] in ({"N": "1"}, {"N": "2"})
    assert client.get_item(TableName=table, Key=key("hot"), ConsistentRead=True)["Item"]["value"] == {"N": "2"}


# --- a resent transaction (same ClientRequestToken) ----------------------------------------


def test_GIVEN_a_committed_transaction_WHEN_it_is_resent_with_its_token_while_another_holds_its_item_THEN_it_succeeds_once(  # noqa: E501
    slow_proxy: ConflictProxy, table: str
) -> None:
    """What botocore does when the answer was lost: resend the same request. DynamoDB
    documents the repeat as idempotent; it is neither conflicted nor applied twice."""
    client = dynamodb(slow_proxy.endpoint)
    token = uuid.uuid4().hex
    client.transact_write_items(TransactItems=[add(table, "hot")], ClientRequestToken=token)
    other = in_flight(slow_proxy, lambda: client.transact_write_items(TransactItems=[add(table, "hot", 10)]))

    client.transact_write_items(TransactItems=[add(table, "hot")], ClientRequestToken=token)
    other.join()

    assert value_of(slow_proxy.endpoint, table, "hot") == 11
    stats = slow_proxy.stats()
    assert (stats.replays, stats.conflicts) == (1, 0)


def test_GIVEN_a_transaction_in_flight_WHEN_it_is_resent_with_its_token_THEN_the_resend_gets_TransactionInProgressException(  # noqa: E501
    slow_proxy: ConflictProxy, table: str
) -> None:
    client = dynamodb(slow_proxy.endpoint)
    token = uuid.uuid4().hex
    first = in_flight(
        slow_proxy, lambda: client.transact_write_items(TransactItems=[add(table, "hot")], ClientRequestToken=token)
    )

    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[add(table, "hot")], ClientRequestToken=token)
    first.join()

    assert refused.value.response["Error"]["Code"] == "TransactionInProgressException"
    assert value_of(slow_proxy.endpoint, table, "hot") == 1


# --- what our code makes of it -----------------------------------------------------------


def test_GIVEN_an_operator_row_held_WHEN_our_transaction_and_update_touch_it_THEN_both_read_as_contention(
    slow_proxy: ConflictProxy,
) -> None:
    with tables_on(slow_proxy.endpoint, f"it-proxy-{uuid.uuid4().hex[:8]}"):
        operator = Operator.get(new_operator("Anna").id)
        # Two items, so ours is a TransactWriteItems (a one-item transaction is a single write).
        other = Operator.get(new_operator("Boris").id)
        client = dynamodb(slow_proxy.endpoint)
        hold = {
            "ConditionCheck": {
                "TableName": Operator.Meta.table_name,
                "Key": {"operator_id": {"S": operator.operator_id}},
                "ConditionExpression": "attribute_exists(operator_id)",
            }
        }
        first = in_flight(slow_proxy, lambda: client.transact_write_items(TransactItems=[hold]))

        with pytest.raises(Cancelled) as cancelled:
            tx = Transaction().update("operator", operator, [Operator.max_load.set(9)])
            tx.update("other", other, [Operator.max_load.set(9)]).commit()
        with pytest.raises(UpdateError) as refused:
            operator.update(actions=[Operator.max_load.set(9)])
        first.join()

    assert cancelled.value.codes["operator"] == "TransactionConflict"
    assert cancelled.value.contended and not cancelled.value.failed("operator")
    assert is_contention(refused.value)


# --- many clients at once -------------------------------------------------------------------


def test_GIVEN_64_clients_incrementing_one_counter_through_transactions_THEN_every_commit_counts_once(
    dynamodb_engine: str,
) -> None:
    clients, per_client = 64, 5
    with ConflictProxy(dynamodb_engine) as proxy:  # the default 10 ms service time
        client = dynamodb(proxy.endpoint)
        table = f"proxy-{uuid.uuid4().hex[:10]}"
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        proxy.reset()

        def work(index: int) -> int:
            rng, conflicts = random.Random(index), 0
            for k in range(per_client):
                while True:
                    try:
                        client.transact_write_items(
                            TransactItems=[add(table, "counter"), put(table, f"{index}-{k}", k)]
                        )
                        break
                    except ClientError as exc:
                        assert exc.response["CancellationReasons"] == [CONFLICT, NONE], exc.response
                        conflicts += 1
                        time.sleep(rng.uniform(0, 0.02))
            return conflicts

        seen_conflicts = sum(race(clients, work, timeout=300))
        stats = proxy.stats()

    assert value_of(dynamodb_engine, table, "counter") == clients * per_client
    assert stats.transaction_conflicts == seen_conflicts > 0
    assert stats.requests["TransactWriteItems"] == clients * per_client + seen_conflicts
    assert stats.item_writes[f'{table} {{"pk":{{"S":"counter"}},"sk":{{"S":"row"}}}}'] == clients * per_client


# --- the command-line proxy, read over HTTP --------------------------------------------------


def test_GIVEN_the_proxy_in_its_own_process_WHEN_requests_pass_THEN_its_counters_read_and_reset_over_http(
    dynamodb_engine: str,
) -> None:
    with ConflictProxyProcess(dynamodb_engine) as proxy:
        client = dynamodb(proxy.endpoint)
        client.list_tables()
        client.list_tables()
        counted = proxy.stats()
        proxy.reset()
        after_reset = proxy.stats()

    assert counted.requests == {"ListTables": 2}
    assert after_reset.requests == {}
