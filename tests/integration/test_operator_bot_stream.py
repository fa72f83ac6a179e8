"""`make run`'s pieces end to end on the real engine: DynamoDB Local's appeals stream, the local stream
feed, `appeal_events` (the handler Lambda runs), the real Bot API client and the fake Bot API on loopback.
An appeal assigned to a linked operator reaches that operator's chat as one message with its buttons
(the latency, under 2 s, is measured by `bench.notify`, not timed here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.access.principal import SYSTEM
from chalicelib.directory import operators
from chalicelib.routing.intake import submit_appeal
from chalicelib.schemas.operators import OperatorPatch
from scripts.local.fakes.telegram import FakeTelegram
from scripts.local.local_stack import stream_feeds
from tests.integration.helpers import appeal_for, new_operator, new_source, warm_up

if TYPE_CHECKING:
    import pytest

CHAT = 700_300


def test_GIVEN_a_linked_operator_and_local_stream_feeds_WHEN_an_appeal_is_assigned_THEN_one_message_reaches_the_chat(
    real_tables: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_up()
    with FakeTelegram() as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("OPERATOR_BOT_TOKEN", fake.add_bot("leadcrm_it_bot"))
        anna = new_operator("Anna", max_load=5)
        operators.update_operator(anna.id, OperatorPatch(telegram_chat_id=CHAT))
        source = new_source({anna.id: 10})
        feeds = stream_feeds()
        for feed in feeds:
            feed.start()
        try:
            appeal = submit_appeal(appeal_for(source.id), viewer=SYSTEM).appeal  # what POST /appeals runs
            # Waits for the feed thread; the bound only stops a broken run (bench.notify measures the latency).
            fake.wait_for_calls("sendMessage", 1, timeout=20)
            assert [feed.failure() for feed in feeds] == [None, None]
        finally:
            for feed in feeds:
                feed.stop()

    sent = [message for message in fake.messages(CHAT) if message.callback_data]
    assert [message.callback_data for message in sent] == [[f"a:{appeal.id}", f"c:{appeal.id}"]]
    assert appeal.operator is not None and appeal.operator.id == anna.id
