"""Operators work their own leads (issue 21): stage, business domain, notes and the
transfer request on the leads of their own appeals; another operator's lead is 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.log_capture import captured_logs
from tests.support import Api, operator_token

if TYPE_CHECKING:
    from scripts.local.dev_auth import DevKeys


class Desk:
    def __init__(self, api: Api, dev_keys: DevKeys) -> None:
        self.api = api
        anna, boris, first, second = api.two_teams("Telegram", "Web form")
        self.as_anna = api.as_(operator_token(dev_keys, anna["id"]))
        self.as_boris = api.as_(operator_token(dev_keys, boris["id"]))
        self.mine: dict[str, Any] = api.appeal(first["id"], lead_name="Ivan Petrov")
        self.theirs: dict[str, Any] = api.appeal(second["id"])


@pytest.fixture
def desk(api: Api, dev_keys: DevKeys) -> Desk:
    return Desk(api, dev_keys)


def test_GIVEN_its_own_lead_WHEN_the_operator_qualifies_it_and_asks_for_transfer_THEN_done_without_admin_rights(
    desk: Desk,
) -> None:
    lead = desk.mine["lead_id"]

    domain = desk.as_anna.patch(f"/leads/{lead}", {"business_domain": "logistics"})
    moves = [desk.as_anna.post(f"/leads/{lead}/stage", {"stage": s}) for s in ("contacted", "qualified")]
    refused = desk.as_anna.post(f"/leads/{lead}/transfer")  # not scored yet: the gate still decides
    desk.api.post(f"/leads/{lead}/analyze")
    transfer = desk.as_anna.post(f"/leads/{lead}/transfer")

    assert (domain.status, domain.body["business_domain"]) == (200, "logistics")
    assert [(m.status, m.body["stage"]) for m in moves] == [(200, "contacted"), (200, "qualified")]
    assert refused.status == 409
    assert transfer.status == 201, transfer.body
    assert transfer.body["lead"]["stage"] == "transferred"
    # The operator's view: contacts only from its own sources' records.
    assert transfer.body["lead"]["contacts"][0]["name"] == "Ivan Petrov"


def test_GIVEN_another_operators_lead_WHEN_worked_on_THEN_404_and_nothing_changes(desk: Desk) -> None:
    lead = desk.theirs["lead_id"]

    replies = [
        desk.as_anna.patch(f"/leads/{lead}", {"business_domain": "logistics"}),
        desk.as_anna.post(f"/leads/{lead}/stage", {"stage": "contacted"}),
        desk.as_anna.post(f"/leads/{lead}/transfer"),
        desk.as_anna.post(f"/leads/{lead}/notes", {"text": "mine now"}),
        desk.as_anna.get(f"/leads/{lead}/notes"),
    ]

    assert [r.status for r in replies] == [404] * 5
    after = desk.api.get(f"/leads/{lead}").body
    assert (after["stage"], after["business_domain"]) == ("new", None)
    assert desk.api.get(f"/leads/{lead}/notes").body["items"] == []


def test_GIVEN_its_own_lead_WHEN_the_operator_changes_contact_details_THEN_403(desk: Desk) -> None:
    reply = desk.as_anna.patch(f"/leads/{desk.mine['lead_id']}", {"name": "Someone Else"})

    assert reply.status == 403
    assert desk.api.get(f"/leads/{desk.mine['lead_id']}").body["name"] == "Ivan Petrov"


def test_GIVEN_notes_WHEN_listed_THEN_newest_first_with_author_and_time_paged_and_text_never_logged(
    desk: Desk,
) -> None:
    lead = desk.mine["lead_id"]
    with captured_logs() as logs:
        for n in range(1, 4):
            assert desk.as_anna.post(f"/leads/{lead}/notes", {"text": f"secret note {n}"}).status == 201
        admin_note = desk.api.post(f"/leads/{lead}/notes", {"text": "secret note 4"})

    first = desk.as_anna.get(f"/leads/{lead}/notes?limit=3").body
    rest = desk.as_anna.get(f"/leads/{lead}/notes?limit=3&cursor={first['next']}").body

    assert admin_note.status == 201 and admin_note.body["author_role"] == "admin"
    assert [n["text"] for n in first["items"] + rest["items"]] == [f"secret note {n}" for n in (4, 3, 2, 1)]
    assert rest["next"] is None
    assert first["items"][1]["author_role"] == "operator" and first["items"][1]["created_at"]
    assert "secret note" not in logs.text()
