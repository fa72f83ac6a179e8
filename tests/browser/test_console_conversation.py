"""The appeal page as a conversation (issue 21), in a real Chromium: the lead's messages and the
operator's replies in order, a reply written and sent by keyboard, its delivery status in words,
on a phone and a desktop, in English and Russian."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Api, appeal, unique


def sticky_team(admin_api: Api) -> tuple[str, str]:
    operator = admin_api.ok("POST", "/operators", {"name": unique("Olga"), "max_load": 5})
    source = admin_api.ok("POST", "/sources", {"name": unique("Web chat"), "sticky": True})
    admin_api.ok("PUT", f"/sources/{source['id']}/weights", [{"operator_id": operator["id"], "weight": 1}])
    return operator["id"], source["id"]


def test_GIVEN_a_lead_wrote_twice_WHEN_its_operator_replies_by_keyboard_on_a_phone_THEN_all_three_are_shown(
    new_console: Any, admin_api: Api
) -> None:
    operator_id, source_id = sticky_team(admin_api)
    first = appeal(admin_api, source_id, "tg:8101", "Hello! Do you ship to Lviv?")
    appeal(admin_api, source_id, "tg:8101", "And how long does it take?")
    phone = new_console(PHONE, label="conversation-phone")
    phone.sign_in(phone.stack.token("operator", operator_id))

    phone.open(f"/appeals/{first['id']}")
    messages = phone.page.get_by_role("list", name="Conversation").get_by_role("listitem")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text("Do you ship to Lviv?")
    expect(messages.nth(1)).to_contain_text("how long")

    # Keyboard only: focus the reply box, type, Ctrl+Enter sends.
    box = phone.page.get_by_label("Reply to the lead")
    box.focus()
    phone.page.keyboard.type("Yes, in two days.")
    phone.page.keyboard.press("Control+Enter")

    expect(messages).to_have_count(3)
    expect(messages.nth(2)).to_contain_text("Yes, in two days.")
    # No Telegram bot on this source: its own bot delivers it (a message.outbound event).
    expect(messages.nth(2)).to_contain_text("Sending")
    expect(box).to_have_value("")
    assert phone.overflow() == 0
    assert phone.axe() == []
    assert phone.errors == []
    stored = admin_api.ok("GET", f"/appeals/{first['id']}/messages")["items"]
    assert [(m["direction"], m["author_operator_id"]) for m in stored] == [
        ("in", None),
        ("in", None),
        ("out", operator_id),
    ]
    assert admin_api.ok("GET", f"/appeals/{first['id']}")["accepted_at"] is not None


def test_GIVEN_a_pending_reply_WHEN_seen_in_ukrainian_and_russian_THEN_its_status_reads_in_each(
    new_console: Any, admin_api: Api
) -> None:
    operator_id, source_id = sticky_team(admin_api)
    first = appeal(admin_api, source_id, "tg:8102", "Привет")
    admin_api.ok("POST", f"/appeals/{first['id']}/messages", {"text": "Здравствуйте!", "client_message_id": "ru-1"})
    console = new_console(label="conversation-uk")
    console.sign_in(console.stack.token("operator", operator_id))
    console.open(f"/appeals/{first['id']}")

    console.page.get_by_label("Language").select_option("uk")
    conversation = console.page.get_by_role("list", name="Листування")
    expect(conversation.get_by_role("listitem")).to_have_count(2)
    expect(conversation).to_contain_text("Надсилається")
    expect(console.page.get_by_label("Відповідь клієнту")).to_be_visible()
    console.page.get_by_label("Мова").select_option("ru")
    expect(console.page.get_by_role("list", name="Переписка")).to_contain_text("Отправляется")
    expect(console.page.get_by_label("Ответ клиенту")).to_be_visible()
    assert console.axe() == []
