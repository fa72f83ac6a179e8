"""Routing settings in a real Chromium against the real API: an admin sets an operator's
skills, a source's routing rules and an appeal's notes; each saved value is read back from
the API (and from a fresh page), and a 422 lands at the field it names, tied to it for
screen readers. The skills and notes run at phone width (360 px), the rules on a desktop,
with axe-core and sideways scrolling checked on the refused form.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Api, Console, appeal, dump, unique


def admin_console(new_console: Any, viewport: dict[str, int], label: str) -> Console:
    console: Console = new_console(viewport=viewport, label=label)
    console.sign_in(console.stack.token("admin"))
    return console


def reload(console: Console) -> None:
    """The same view loaded afresh: everything on it is read from the API again."""
    console.page.reload()
    console.settle()


def check(console: Console, name: str) -> None:
    console.screenshot(name)
    violations = console.axe()
    assert violations == [], dump(violations)
    assert console.overflow() <= 0, f"{name} scrolls sideways by {console.overflow()} px"
    assert console.errors == [], console.errors


def error_at(console: Console, control: Any) -> str:
    """The words the control is described by (its hint and its error)."""
    described = control.get_attribute("aria-describedby") or ""
    return " ".join(console.page.locator(f"[id='{part}']").inner_text() for part in described.split())


def test_GIVEN_an_operator_WHEN_skills_are_set_by_keyboard_THEN_they_are_stored_and_a_bad_tag_is_refused_at_its_field(
    new_console: Any, admin_api: Api
) -> None:
    operator = admin_api.ok("POST", "/operators", {"name": unique("Iryna"), "max_load": 2})
    console = admin_console(new_console, PHONE, "360px")
    console.open(f"/operators/{operator['id']}")
    skills = console.page.get_by_role("region", name="Skills", exact=True)
    expect(skills.get_by_text("No skills.", exact=True)).to_be_visible()
    field = skills.get_by_role("textbox", name="Skills", exact=True)

    # Typed as a person would: mixed case, commas and spaces, a repeat; saved with Enter.
    field.fill("Lang:UK, product:insurance  lang:uk")
    field.press("Enter")
    expect(skills.get_by_text("Saved.", exact=True)).to_be_visible()
    assert admin_api.ok("GET", f"/operators/{operator['id']}")["tags"] == ["lang:uk", "product:insurance"]
    expect(field).to_have_value("lang:uk, product:insurance")
    expect(skills.get_by_role("list", name="Current skills")).to_contain_text("product:insurance")

    field.fill("lang:uk, nocolon")
    field.press("Enter")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert '"nocolon": expected name:value' in error_at(console, field)
    expect(skills.get_by_role("alert")).to_contain_text("Some values are not valid")
    assert admin_api.ok("GET", f"/operators/{operator['id']}")["tags"] == ["lang:uk", "product:insurance"]
    check(console, "admin-operator-skills-error")

    # A fresh page reads the stored skills back; emptying the field removes them all.
    reload(console)
    skills = console.page.get_by_role("region", name="Skills", exact=True)
    field = skills.get_by_role("textbox", name="Skills", exact=True)
    expect(field).to_have_value("lang:uk, product:insurance")
    field.fill("")
    field.press("Enter")
    expect(console.page.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(console.page.get_by_text("No skills.", exact=True)).to_be_visible()
    assert admin_api.ok("GET", f"/operators/{operator['id']}")["tags"] == []


def test_GIVEN_a_source_WHEN_routing_rules_are_saved_THEN_the_api_has_them_a_bad_one_is_refused_at_its_field(
    new_console: Any, admin_api: Api
) -> None:
    source = admin_api.ok("POST", "/sources", {"name": unique("Viber")})
    console = admin_console(new_console, DESKTOP, "1280px")
    console.open(f"/sources/{source['id']}")
    rules = console.page.get_by_role("region", name="Routing rules")
    rules.get_by_label("Required skills").fill("lang:uk, product:insurance")
    rules.get_by_label("Give up on skills after (seconds)").fill("120")
    rules.get_by_label("Line order").select_option("priority")
    rules.get_by_label("Most a priority appeal jumps ahead (seconds)").fill("600")
    rules.get_by_label("Hot from AI score").fill("0.8")
    rules.get_by_label("Follow up after quiet (seconds)").fill("3600")
    rules.get_by_label("Then", exact=True).select_option("return_to_line")
    rules.get_by_label("At shift end, accepted appeals go back too").check()
    rules.get_by_role("button", name="Save routing rules").click()
    expect(rules.get_by_text("Saved.", exact=True)).to_be_visible()

    stored = admin_api.ok("GET", f"/sources/{source['id']}")
    assert {k: stored[k] for k in RULES} == {
        "required_tags": ["lang:uk", "product:insurance"],
        "fallback_after_seconds": 120,
        "line_order": {"mode": "priority", "max_jump_seconds": 600, "hot_threshold": 0.8},
        "followup_seconds": 3600,
        "followup_action": "return_to_line",
        "return_accepted_at_shift_end": True,
    }, dump(stored)

    # A fresh page shows what is stored.
    reload(console)
    rules = console.page.get_by_role("region", name="Routing rules")
    expect(rules.get_by_label("Required skills")).to_have_value("lang:uk, product:insurance")
    expect(rules.get_by_label("Line order")).to_have_value("priority")
    expect(rules.get_by_label("Follow up after quiet (seconds)")).to_have_value("3600")
    expect(rules.get_by_label("Then", exact=True)).to_have_value("return_to_line")
    expect(rules.get_by_label("At shift end, accepted appeals go back too")).to_be_checked()

    required = rules.get_by_label("Required skills")
    required.fill("lang:uk, Lang:UK, english")  # the same tag twice (any case) and one that is no name:value
    rules.get_by_role("button", name="Save routing rules").click()
    expect(required).to_have_attribute("aria-invalid", "true")
    assert '"english": expected name:value' in error_at(console, required)
    expect(rules.get_by_label("Follow up after quiet (seconds)")).not_to_have_attribute("aria-invalid", "true")
    assert admin_api.ok("GET", f"/sources/{source['id']}")["required_tags"] == ["lang:uk", "product:insurance"]
    check(console, "admin-source-rules-error")

    # Blank means none: no required skills, no fallback, no follow-up.
    required.fill("")
    rules.get_by_label("Give up on skills after (seconds)").fill("")
    rules.get_by_label("Follow up after quiet (seconds)").fill("")
    rules.get_by_role("button", name="Save routing rules").click()
    expect(rules.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(required).not_to_have_attribute("aria-invalid", "true")
    stored = admin_api.ok("GET", f"/sources/{source['id']}")
    assert (stored["required_tags"], stored["fallback_after_seconds"], stored["followup_seconds"]) == ([], None, None)
    assert stored["line_order"]["mode"] == "priority"


RULES = (
    "required_tags",
    "fallback_after_seconds",
    "line_order",
    "followup_seconds",
    "followup_action",
    "return_accepted_at_shift_end",
)


def test_GIVEN_an_appeal_WHEN_an_admin_adds_a_note_THEN_the_api_lists_it_and_a_blank_note_is_refused_at_the_field(
    new_console: Any, admin_api: Api
) -> None:
    operator = admin_api.ok("POST", "/operators", {"name": unique("Bohdan"), "max_load": 2})
    source = admin_api.ok("POST", "/sources", {"name": unique("Web form")})
    admin_api.ok("PUT", f"/sources/{source['id']}/weights", [{"operator_id": operator["id"], "weight": 1}])
    made = appeal(admin_api, source["id"], f"web:notes-{unique('n').split()[-1]}")
    console = admin_console(new_console, PHONE, "360px")
    console.open(f"/appeals/{made['id']}")
    notes = console.page.get_by_role("region", name="Notes", exact=True)
    expect(notes).to_contain_text("No notes yet.")

    box = notes.get_by_label("New note")
    box.fill("Called back.\nWants a quote for 3 trucks.")
    notes.get_by_role("button", name="Add note").click()
    expect(notes.get_by_role("list", name="Notes")).to_contain_text("Wants a quote for 3 trucks.")
    expect(box).to_have_value("")
    listed = admin_api.ok("GET", f"/appeals/{made['id']}/notes")["items"]
    assert [n["text"] for n in listed] == ["Called back.\nWants a quote for 3 trucks."]

    box.fill("   ")
    notes.get_by_role("button", name="Add note").click()
    expect(box).to_have_attribute("aria-invalid", "true")
    assert "the note is blank" in error_at(console, box)
    assert len(admin_api.ok("GET", f"/appeals/{made['id']}/notes")["items"]) == 1
    check(console, "admin-appeal-notes-error")

    # A fresh page reads the note back from the API.
    reload(console)
    expect(console.page.get_by_role("region", name="Notes", exact=True)).to_contain_text("Wants a quote for 3 trucks.")


LOCALES = [
    ("uk-UA", "Правила розподілу", "Навички", "Зберегти правила", "Нотатки"),
    ("ru-RU", "Правила распределения", "Навыки", "Сохранить правила", "Заметки"),
]


@pytest.mark.parametrize(
    ("locale", "rules_title", "skills_label", "save_rules", "notes_title"), LOCALES, ids=["uk", "ru"]
)
def test_GIVEN_ukrainian_or_russian_on_a_phone_WHEN_the_routing_forms_open_THEN_they_speak_it_fit_and_axe_is_content(
    new_console: Any,
    admin_api: Api,
    locale: str,
    rules_title: str,
    skills_label: str,
    save_rules: str,
    notes_title: str,
) -> None:
    operator = admin_api.ok("POST", "/operators", {"name": unique("Oksana"), "max_load": 1, "tags": ["lang:uk"]})
    source = admin_api.ok("POST", "/sources", {"name": unique("Site"), "line_order": {"mode": "priority"}})
    made = appeal(admin_api, source["id"], f"web:locale-{unique('l').split()[-1]}")
    console: Console = new_console(viewport=PHONE, label=f"360px-{locale}", locale=locale)
    console.page.goto(console.stack.console_url)
    console.page.locator("textarea").first.fill(console.stack.token("admin"))
    console.page.locator("form button[type=submit]").click()
    console.signed_in()

    console.open(f"/operators/{operator['id']}")
    expect(console.page.get_by_role("textbox", name=skills_label, exact=True)).to_have_value("lang:uk")
    check(console, "admin-operator-skills")
    console.open(f"/sources/{source['id']}")
    rules = console.page.get_by_role("region", name=rules_title)
    expect(rules.get_by_role("button", name=save_rules)).to_be_visible()
    check(console, "admin-source-rules")
    console.open(f"/appeals/{made['id']}")
    expect(console.page.get_by_role("region", name=notes_title, exact=True)).to_be_visible()
    check(console, "admin-appeal-notes")
