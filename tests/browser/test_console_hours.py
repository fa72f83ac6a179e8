"""Hours and presence (issue 18) in a real Chromium against the real API: an operator pauses
with a reason and comes back, sets its weekly hours and time off (a 422 lands at the field it
names), and the admin sees everyone's week with shifts as bars, time off shaded and presence
badges. Every operator is made for its test (presence and schedules are state), and schedules
are written through PUT, so presence is whatever the server computes from them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Api, Console, dump, unique

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def people(admin_api: Api) -> dict[str, dict[str, Any]]:
    return {
        "olena": admin_api.ok("POST", "/operators", {"name": unique("Olena"), "max_load": 3}),
        "taras": admin_api.ok("POST", "/operators", {"name": unique("Taras"), "max_load": 2}),
    }


def this_monday() -> date:
    today = datetime.now(UTC).date()
    return today - timedelta(days=today.weekday())


def off_shift_days() -> tuple[str, str]:
    """Two weekdays three and four days from today (UTC): whenever the test runs, even across
    midnight, a schedule on those days only has its operator off shift now."""
    today = datetime.now(UTC).date().weekday()
    return DAYS[(today + 3) % 7], DAYS[(today + 4) % 7]


def off_shift_schedule(time_off: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    first, second = off_shift_days()
    hours = [{"start": "10:00", "end": "18:00"}]
    return {"time_zone": "UTC", "week": {first: hours, second: hours}, "exceptions": time_off or []}


def check(console: Console, name: str) -> None:
    console.screenshot(name)
    violations = console.axe()
    assert violations == [], dump(violations)
    assert console.overflow() <= 0, f"{name} scrolls sideways by {console.overflow()} px"
    assert console.errors == [], console.errors


def operator_console(new_console: Any, operator: dict[str, Any], size: dict[str, int] = DESKTOP) -> Console:
    console: Console = new_console(viewport=size)
    console.sign_in(console.stack.token("operator", operator["id"]))
    return console


def patches_of_me(console: Console) -> list[Any]:
    """The bodies of the PATCH /me requests the page sends, as it sends them."""
    sent: list[Any] = []
    console.page.on(
        "request",
        lambda request: (
            sent.append(request.post_data_json)
            if request.method == "PATCH" and urlparse(request.url).path.endswith("/me")
            else None
        ),
    )
    return sent


def test_GIVEN_an_operator_WHEN_it_pauses_with_a_reason_and_returns_THEN_presence_follows_by_keyboard(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    olena = people["olena"]
    console = operator_console(new_console, olena)
    sent = patches_of_me(console)
    console.open("/hours")
    presence = console.page.get_by_role("region", name="Presence")
    expect(presence).to_contain_text("available")

    reason = console.page.get_by_label("Reason")
    reason.focus()
    reason.type("lunch")
    reason.press("Enter")

    expect(presence).to_contain_text("paused")
    expect(presence).to_contain_text("lunch")
    assert sent[-1] == {"presence": "paused", "reason": "lunch"}
    stored = admin_api.ok("GET", f"/operators/{olena['id']}")
    assert (stored["presence"], stored["presence_reason"]) == ("paused", "lunch")
    resume = console.page.get_by_role("button", name="Resume receiving appeals")
    resume.focus()
    console.page.keyboard.press("Enter")
    expect(presence).to_contain_text("available")
    assert sent[-1] == {"presence": "available"}
    stored = admin_api.ok("GET", f"/operators/{olena['id']}")
    assert (stored["presence"], stored["presence_reason"]) == ("available", None)


def test_GIVEN_no_hours_WHEN_set_wrongly_then_rightly_THEN_the_422_shows_at_the_field_and_the_fix_saves(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    olena = people["olena"]
    console = operator_console(new_console, olena)
    console.open("/hours")
    expect(console.page.get_by_text("No hours are set: you are always on shift.")).to_be_visible()
    console.page.get_by_role("button", name="Set my hours").click()
    console.page.get_by_label("Time zone").select_option("Europe/Kyiv")

    # Monday ends before it starts, and is not marked overnight.
    monday = console.page.get_by_role("group", name="Monday, interval 1")
    monday.get_by_label("Ends", exact=True).fill("08:00")
    console.page.get_by_role("button", name="Add time off").click()
    off = console.page.get_by_role("group", name="Time off 1")
    off.get_by_label("First day").fill("2026-12-24")
    off.get_by_label("Last day").fill("2026-12-22")
    console.page.get_by_role("button", name="Save hours").click()

    ends = monday.get_by_label("Ends", exact=True)
    expect(ends).to_have_attribute("aria-invalid", "true")
    expect(monday).to_contain_text("ends before it starts")
    expect(off.get_by_label("Last day")).to_have_attribute("aria-invalid", "true")
    expect(off).to_contain_text("last_day is before first_day")
    expect(console.page.get_by_role("alert")).to_contain_text("2 values need fixing")
    # The message is tied to its field for screen readers.
    described = ends.get_attribute("aria-describedby")
    assert described and "ends before it starts" in console.page.locator(f"[id='{described}']").inner_text()
    assert admin_api.call("GET", f"/operators/{olena['id']}/schedule").status_code == 404  # nothing was stored
    check(console, "operator-hours-errors")

    ends.fill("18:00")
    off.get_by_label("Last day").fill("2026-12-26")
    off.get_by_label("Kind").select_option(label="Holiday")
    console.page.get_by_role("button", name="Save hours").click()
    expect(console.page.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(ends).not_to_have_attribute("aria-invalid", "true")
    assert admin_api.ok("GET", f"/operators/{olena['id']}/schedule") == {
        "time_zone": "Europe/Kyiv",
        "week": {
            day: [{"start": "09:00", "end": "18:00", "overnight": False}] for day in ("mon", "tue", "wed", "thu", "fri")
        }
        | {"sat": [], "sun": []},
        "exceptions": [{"kind": "off", "first_day": "2026-12-24", "last_day": "2026-12-26", "reason": "holiday"}],
    }
    assert admin_api.ok("GET", f"/operators/{olena['id']}")["time_zone"] == "Europe/Kyiv"

    # Read back after a reload: what was saved is what the editor shows.
    console.page.reload()
    console.settle()
    expect(console.page.get_by_role("group", name="Time off 1").get_by_label("Last day")).to_have_value("2026-12-26")
    expect(console.page.get_by_role("group", name="Friday, interval 1").get_by_label("Ends", exact=True)).to_have_value(
        "18:00"
    )


def test_GIVEN_an_overnight_shift_WHEN_saved_THEN_it_is_sent_and_stored_as_overnight(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    olena = people["olena"]
    console = operator_console(new_console, olena)
    console.open("/hours")
    console.page.get_by_role("button", name="Set my hours").click()
    console.page.get_by_label("Time zone").select_option("Europe/Kyiv")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday"):
        console.page.get_by_role("button", name=f"Remove {day} interval 1").click()
    friday = console.page.get_by_role("group", name="Friday, interval 1")
    friday.get_by_label("Starts", exact=True).fill("22:00")
    friday.get_by_label("Ends", exact=True).fill("06:00")
    friday.get_by_label("Ends the next day").check()
    with console.page.expect_request(
        lambda request: request.method == "PUT" and request.url.endswith("/me/schedule")
    ) as put:
        console.page.get_by_role("button", name="Save hours").click()
    expect(console.page.get_by_text("Saved.", exact=True)).to_be_visible()

    assert put.value.post_data_json["week"] == {"fri": [{"start": "22:00", "end": "06:00", "overnight": True}]}
    stored = admin_api.ok("GET", f"/operators/{olena['id']}/schedule")["week"]
    assert stored == {day: [] for day in DAYS} | {"fri": [{"start": "22:00", "end": "06:00", "overnight": True}]}
    assert console.page.get_by_text("Day off").count() == 6


def admin_console(new_console: Any, size: dict[str, int] = DESKTOP) -> Console:
    console: Console = new_console(viewport=size)
    console.sign_in(console.stack.token("admin"))
    return console


def team_week(admin_api: Api, people: dict[str, dict[str, Any]]) -> None:
    """Olena: Monday to Friday 07:00–16:00 UTC, paused for training (a pause holds whatever the
    schedule says). Taras: two days a week, neither near today, so off shift now; leave on
    Monday to Wednesday of next week."""
    olena, taras = people["olena"], people["taras"]
    nine_hours = [{"start": "07:00", "end": "16:00"}]
    admin_api.ok(
        "PUT",
        f"/operators/{olena['id']}/schedule",
        {"time_zone": "UTC", "week": dict.fromkeys(DAYS[:5], nine_hours)},
    )
    admin_api.ok("PATCH", f"/operators/{olena['id']}", {"presence": "paused", "reason": "training"})
    leave_from = this_monday() + timedelta(days=7)
    leave = {
        "kind": "off",
        "first_day": str(leave_from),
        "last_day": str(leave_from + timedelta(days=2)),
        "reason": "leave",
    }
    admin_api.ok("PUT", f"/operators/{taras['id']}/schedule", off_shift_schedule([leave]))


def test_GIVEN_the_team_week_WHEN_opened_and_paged_THEN_shifts_time_off_and_presence_are_drawn_per_operator(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    team_week(admin_api, people)
    console = admin_console(new_console)
    asked: list[str] = []
    console.page.on("request", lambda request: asked.append(request.url) if "/schedules/week" in request.url else None)
    console.open("/week")
    monday = this_monday()
    assert parse_qs(urlparse(asked[0]).query) == {"start": [str(monday)]}
    expect(console.page.get_by_role("heading", name=f"Week {monday} – {monday + timedelta(days=6)}")).to_be_visible()

    olena = console.page.locator(".week-row", has_text=people["olena"]["name"])
    taras = console.page.locator(".week-row", has_text=people["taras"]["name"])
    expect(olena.locator(".week-shift")).to_have_count(5)
    expect(taras.locator(".week-shift")).to_have_count(2)
    expect(olena).to_contain_text("paused")
    expect(olena).to_contain_text("training")
    expect(taras).to_contain_text("off shift")
    # A 9-hour shift is 9/168 of the week's track, Monday's starts at 07:00 (7/168 in).
    bar = olena.locator(".week-shift").first
    left, width = bar.evaluate("b => [parseFloat(b.style.left), parseFloat(b.style.width)]")
    assert abs(left - 7 / 168 * 100) < 0.01 and abs(width - 9 / 168 * 100) < 0.01
    # Someone without hours is always on shift: available, no bars, no zone.
    nobody = admin_api.ok("POST", "/operators", {"name": unique("Nadia")})
    console.page.reload()
    console.settle()
    nadia = console.page.locator(".week-row", has_text=nobody["name"])
    expect(nadia.locator(".week-shift")).to_have_count(0)
    expect(nadia).to_contain_text("available")
    expect(nadia).to_contain_text("no hours set: always on shift")

    # Next week: Taras's leave is drawn only in the week that holds it.
    with console.page.expect_request(
        lambda request: "/schedules/week" in request.url and str(monday + timedelta(days=7)) in request.url
    ):
        console.page.get_by_role("button", name="Next week").click()
    expect(
        console.page.get_by_role("heading", name=f"Week {monday + timedelta(days=7)} – {monday + timedelta(days=13)}")
    ).to_be_visible()
    expect(taras.locator(".week-off")).to_have_count(1)
    console.page.get_by_role("button", name="Previous week").click()
    expect(console.page.get_by_role("heading", name=f"Week {monday} – {monday + timedelta(days=6)}")).to_be_visible()
    expect(taras.locator(".week-off")).to_have_count(0)
    taras.locator("summary").click()
    expect(taras.get_by_role("listitem")).to_have_count(2)
    check(console, "admin-week")


def test_GIVEN_time_off_in_the_week_WHEN_drawn_THEN_it_is_shaded_over_those_days(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    team_week(admin_api, people)
    console = admin_console(new_console)
    console.open("/week")
    start = this_monday() + timedelta(days=7)
    console.page.get_by_role("button", name="Next week").click()
    expect(console.page.get_by_role("heading", name=f"Week {start} – {start + timedelta(days=6)}")).to_be_visible()
    taras = console.page.locator(".week-row", has_text=people["taras"]["name"])
    shade = taras.locator(".week-off")
    expect(shade).to_have_count(1)
    left, width = shade.evaluate("b => [parseFloat(b.style.left), parseFloat(b.style.width)]")
    assert abs(left) < 0.01 and abs(width - 3 / 7 * 100) < 0.01
    taras.locator("summary").click()
    expect(taras).to_contain_text(f"Time off {start} – {start + timedelta(days=2)} (Leave)")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_GIVEN_hours_views_WHEN_opened_THEN_axe_is_content_and_they_fit(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api, size: str
) -> None:
    viewport = PHONE if size == "phone" else DESKTOP
    team_week(admin_api, people)
    operator = operator_console(new_console, admin_api.ok("POST", "/operators", {"name": unique("Ivan")}), viewport)
    operator.open("/hours")
    operator.page.get_by_role("button", name="Set my hours").click()
    check(operator, "operator-hours")
    admin = admin_console(new_console, viewport)
    admin.open("/week")
    expect(admin.page.locator(".week-row", has_text=people["olena"]["name"]).locator(".week-shift")).to_have_count(5)
    check(admin, "admin-week")


def test_GIVEN_russian_WHEN_my_hours_open_THEN_weekdays_and_labels_are_russian(
    new_console: Any, people: dict[str, dict[str, Any]]
) -> None:
    console = new_console(locale="ru-RU")
    console.page.goto(console.stack.console_url)
    console.page.locator("textarea").first.fill(console.stack.token("operator", people["olena"]["id"]))
    console.page.locator("form button[type=submit]").click()
    console.signed_in()
    console.open("/hours")
    console.page.get_by_role("button", name="Задать часы").click()
    expect(console.page.get_by_role("group", name="понедельник, интервал 1")).to_be_visible()
    expect(console.page.get_by_role("button", name="Сохранить часы")).to_be_visible()
    assert console.axe() == []


def test_GIVEN_an_admin_WHEN_it_sets_an_operators_hours_from_the_week_THEN_they_are_saved_for_that_operator(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    taras = people["taras"]
    console = admin_console(new_console)
    console.open("/week")
    console.page.get_by_role("link", name=taras["name"]).click()
    console.settle()
    hours = console.page.get_by_role("region", name="Weekly hours and time off")
    expect(hours).to_contain_text("No hours are set: always on shift.")
    hours.get_by_role("button", name="Set the hours").click()
    hours.get_by_label("Time zone").select_option("Europe/Berlin")
    hours.get_by_role("button", name="Save hours").click()
    expect(hours.get_by_text("Saved.", exact=True)).to_be_visible()

    assert admin_api.ok("GET", f"/operators/{taras['id']}/schedule")["time_zone"] == "Europe/Berlin"
    assert admin_api.call("GET", f"/operators/{people['olena']['id']}/schedule").status_code == 404
    hours.get_by_role("button", name="Remove the hours (always on shift)").click()
    expect(hours).to_contain_text("No hours are set: always on shift.")
    assert admin_api.call("GET", f"/operators/{taras['id']}/schedule").status_code == 404
    check(console, "admin-operator-hours")


def test_GIVEN_an_api_without_the_schedule_route_WHEN_the_hours_load_THEN_it_says_so_and_never_shows_the_token(
    new_console: Any, people: dict[str, dict[str, Any]]
) -> None:
    console = new_console()
    token = console.stack.token("admin")
    # The one answer faked on purpose: an older deployment without the route. What API Gateway
    # (and chalice local) answer for a route they lack is a 403 echoing the header; our stack has
    # the route, so only the browser can be shown that answer.
    gateway = {
        "message": "Authorization header requires 'Credential' parameter. Authorization header requires "
        f"'Signature' parameter. Authorization=Bearer {token}"
    }
    console.context.route(
        re.compile(re.escape(console.stack.base_url) + r"/operators/[^/]+/schedule$"),
        lambda route: route.fulfill(status=403, content_type="application/json", body=json.dumps(gateway)),
    )
    console.sign_in(token)
    console.open(f"/operators/{people['olena']['id']}")

    hours = console.page.get_by_role("region", name="Weekly hours and time off")
    expect(hours.get_by_role("alert")).to_contain_text("This API does not offer that yet")
    assert token not in console.page.locator("body").inner_text()
    assert token.split(".")[1] not in console.page.content()
    check(console, "admin-operator-no-route")


def test_GIVEN_an_off_shift_operator_WHEN_it_pauses_and_resumes_in_the_inbox_THEN_it_is_paused_then_off_shift_again(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    olena = people["olena"]
    admin_api.ok("PUT", f"/operators/{olena['id']}/schedule", off_shift_schedule())
    assert admin_api.ok("GET", f"/operators/{olena['id']}")["presence"] == "off_shift"
    console = operator_console(new_console, olena)
    sent = patches_of_me(console)
    console.open("/inbox")
    expect(console.page.get_by_text("Off shift: new appeals come again from")).to_be_visible()

    console.page.get_by_role("button", name="Pause new appeals").click()
    expect(console.page.get_by_role("button", name="Resume receiving appeals")).to_be_visible()
    assert sent[-1] == {"presence": "paused"}
    assert admin_api.ok("GET", f"/operators/{olena['id']}")["presence"] == "paused"
    console.page.get_by_role("button", name="Resume receiving appeals").click()
    expect(console.page.get_by_role("button", name="Pause new appeals")).to_be_visible()
    assert sent[-1] == {"presence": "available"}
    # Resuming off shift is not "receiving": the schedule still says off, and the inbox says so.
    expect(console.page.get_by_text("Off shift: new appeals come again from")).to_be_visible()
    assert admin_api.ok("GET", f"/operators/{olena['id']}")["presence"] == "off_shift"


def test_GIVEN_an_admin_pauses_an_operator_after_sign_in_WHEN_its_hours_open_THEN_they_show_the_pause_as_it_is(
    new_console: Any, people: dict[str, dict[str, Any]], admin_api: Api
) -> None:
    olena = people["olena"]
    console = operator_console(new_console, olena)  # signed in while available
    admin_api.ok("PATCH", f"/operators/{olena['id']}", {"presence": "paused", "reason": "meeting"})
    console.page.evaluate("location.hash = '#/hours'")
    console.page.locator('main[data-path="/hours"]').wait_for()
    presence = console.page.get_by_role("region", name="Presence")
    # Not the sign-in's snapshot ("available", with a pause button): the server's presence now.
    expect(presence).to_contain_text("paused")
    expect(presence).to_contain_text("meeting")
    expect(console.page.get_by_role("button", name="Resume receiving appeals")).to_be_visible()
