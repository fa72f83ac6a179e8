"""Insight (issue 19) in a real Chromium: the operator leaderboard, a source's hourly
timeline, the what-if simulator next to what happened, weight suggestions (accept,
reject), auto-tune and the weights' history; axe and fit at 360 px and 1280 px.

The simulator, suggestions, apply, weights history and the source's auto_tune are the
real API. GET /stats/operators and GET /stats/sources/{id}/timeline are served by
`contract_fakes.AnalyticsFake` (contract "Analytics", s4_contracts.md) until the
analytics branch is merged: then drop the fake and seed the numbers through the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, DESKTOP, PHONE, Api, Console, appeal, dump, unique
from tests.browser.contract_fakes import AnalyticsFake, leaderboard_row, timeline_hours

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.ephemeral_stack import RunningStack


@dataclass(frozen=True)
class Team:
    anna: dict[str, Any]
    boris: dict[str, Any]
    source: dict[str, Any]
    carl: dict[str, Any]


@pytest.fixture(scope="module")
def team(admin_api: Api) -> Team:
    """Two operators at weights 1:3 on a source with a dozen appeals of history, some closed."""
    anna = admin_api.ok("POST", "/operators", {"name": unique("Anna"), "max_load": 5})
    boris = admin_api.ok("POST", "/operators", {"name": unique("Boris"), "max_load": 5})
    carl = admin_api.ok("POST", "/operators", {"name": unique("Carl"), "max_load": 2})  # no weight here
    source = admin_api.ok("POST", "/sources", {"name": unique("Insight bot"), "response_sla_seconds": 600})
    admin_api.ok(
        "PUT",
        f"/sources/{source['id']}/weights",
        [{"operator_id": anna["id"], "weight": 1}, {"operator_id": boris["id"], "weight": 3}],
    )
    for n in range(12):
        made = appeal(admin_api, source["id"], f"tg:insight-{n}")
        if made["status"] == "assigned":
            admin_api.ok("POST", f"/appeals/{made['id']}/close")
    return Team(anna=anna, boris=boris, source=source, carl=carl)


def analytics(stack: RunningStack, team: Team) -> AnalyticsFake:
    rows = [
        leaderboard_row(team.anna, assigned=4, accepted=4, closed=3, accept_p50_seconds=65, accept_p90_seconds=200,
                        close_p50_seconds=3700, sla_lapses=1, transferred=2, conversion=0.5),
        leaderboard_row(team.boris, assigned=9, accepted=8, closed=8, accept_p50_seconds=30, accept_p90_seconds=90,
                        close_p50_seconds=1800, sla_lapses=0, transferred=1, conversion=1 / 9),
    ]  # fmt: skip
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    hours = timeline_hours(
        first, [(0, 0, 0, None), (3, 2, 1, 45.0), (5, 4, 2, 120.0), (0, 0, 0, None), (2, 2, 0, 10.0)]
    )
    return AnalyticsFake(stack.base_url, rows, hours)


def admin_console(
    new_console: Any, stack: RunningStack, team: Team, size: dict[str, int] = DESKTOP
) -> tuple[Console, AnalyticsFake]:
    console = new_console(viewport=size)
    fake = analytics(stack, team)
    fake.install(console.context)
    console.sign_in(stack.token("admin"))
    return console, fake


def check(console: Console, name: str) -> None:
    console.screenshot(name)
    violations = console.axe()
    assert violations == [], dump(violations)
    assert console.overflow() <= 0, f"{name} scrolls sideways by {console.overflow()} px"
    assert console.errors == [], console.errors


def leaderboard_names(console: Console) -> list[str]:
    table = console.page.get_by_role("table").first
    return [text.strip() for text in table.locator("tbody th").all_inner_texts()]


def test_GIVEN_the_leaderboard_WHEN_opened_and_sorted_THEN_it_asks_for_the_last_7_days_and_orders_by_the_column(
    new_console: Any, stack: RunningStack, team: Team
) -> None:
    console, fake = admin_console(new_console, stack, team)
    console.open("/insight")

    today = datetime.now(UTC).date()
    expect(console.page.get_by_label("From", exact=True)).to_have_value(str(today - timedelta(days=6)))
    expect(console.page.get_by_label("To", exact=True)).to_have_value(str(today))
    asked = parse_qs(urlparse(fake.requests.of("GET", "/stats/operators")[0][1]).query)
    assert asked == {"from": [str(today - timedelta(days=6))], "to": [str(today)]}
    # Default: most assigned first; Boris 9, Anna 4. Durations read as clocks, conversion as a bar.
    assert leaderboard_names(console) == [team.boris["name"], team.anna["name"]]
    anna_row = console.page.get_by_role("row", name=team.anna["name"])
    expect(anna_row).to_contain_text("1:05")
    expect(console.page.get_by_label(f"Conversion of {team.anna['name']}")).to_have_text("50%")

    conversion = console.page.get_by_role("button", name="Conversion")
    conversion.click()
    expect(console.page.get_by_role("columnheader", name="Conversion")).to_have_attribute("aria-sort", "descending")
    assert leaderboard_names(console) == [team.anna["name"], team.boris["name"]]
    conversion.press("Enter")  # by keyboard: the same button, the other way
    expect(console.page.get_by_role("columnheader", name="Conversion")).to_have_attribute("aria-sort", "ascending")
    assert leaderboard_names(console) == [team.boris["name"], team.anna["name"]]

    # A source filter and a new range go to the API as asked.
    console.page.get_by_label("Source", exact=True).select_option(label=team.source["name"])
    month_ago = str(today - timedelta(days=30))
    with console.page.expect_request(
        lambda request: "/stats/operators" in request.url and month_ago in request.url
    ) as sent:
        console.page.get_by_label("From", exact=True).fill(month_ago)
    last = parse_qs(urlparse(sent.value.url).query)
    assert last == {"from": [str(today - timedelta(days=30))], "to": [str(today)], "source_id": [team.source["id"]]}
    check(console, "admin-insight")


def test_GIVEN_a_source_WHEN_its_insight_opens_THEN_the_timeline_is_drawn_with_the_same_numbers_as_a_table(
    new_console: Any, stack: RunningStack, team: Team
) -> None:
    console, fake = admin_console(new_console, stack, team)
    console.open(f"/insight/{team.source['id']}")

    chart = console.page.get_by_role(
        "img", name=f"Hourly arrivals, assignments, waiting line and median wait for {team.source['name']}"
    )
    expect(chart).to_be_visible()
    assert fake.requests.of("GET", f"/stats/sources/{team.source['id']}/timeline")
    kpis = console.page.locator(".kpis")
    expect(kpis).to_contain_text("10")  # arrivals 3 + 5 + 2
    expect(kpis).to_contain_text("8")  # assigned 2 + 4 + 2
    console.page.get_by_text("3 hours with traffic, as a table").click()
    table = console.page.locator("details table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(1)).to_contain_text("2:00")  # a median wait of 120 s
    check(console, "admin-insight-source")


def test_GIVEN_the_simulator_WHEN_run_with_proposed_weights_THEN_results_stand_next_to_what_happened(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console, _ = admin_console(new_console, stack, team)
    console.open(f"/insight/{team.source['id']}")

    # Prefilled from the current weights and each operator's max load.
    expect(console.page.get_by_label(f"Proposed weight of {team.anna['name']}")).to_have_value("1")
    expect(console.page.get_by_label(f"Proposed weight of {team.boris['name']}")).to_have_value("3")
    expect(console.page.get_by_label(f"Max load of {team.anna['name']}")).to_have_value("5")
    # Those without a weight here join only on request, at 0.
    carl = console.page.get_by_label(f"Proposed weight of {team.carl['name']}")
    expect(carl).to_have_count(0)
    console.page.get_by_role("button", name=re.compile(r"Add the \d+ other operators?")).click()
    expect(carl).to_have_value("0")
    expect(console.page.get_by_label(f"Max load of {team.carl['name']}")).to_have_value("2")
    console.page.get_by_label(f"Proposed weight of {team.anna['name']}").fill("3")
    console.page.get_by_label("Appeals to replay").fill("50")
    console.page.get_by_label("Seed", exact=True).fill("7")
    with console.page.expect_request(lambda request: request.url.endswith("/simulate")) as sent:
        console.page.get_by_role("button", name="Run the simulation").click()

    body = sent.value.post_data_json
    assert body == {
        "weights": {team.anna["id"]: 3, team.boris["id"]: 3},
        "capacities": {team.anna["id"]: 5, team.boris["id"]: 5},
        "strategy": "weighted",
        "n": 50,
        "seed": 7,
    }
    results = console.page.get_by_role("region", name="Simulation results")
    expect(results).to_be_visible()
    # Seeded: the same request answers the same, so the page shows exactly this.
    answer = admin_api.ok("POST", f"/sources/{team.source['id']}/simulate", body)
    expect(results.get_by_role("heading", name="appeals replayed")).to_have_text(
        f"{answer['appeals']} appeals replayed"
    )
    assigned = results.get_by_role("row", name="Assigned", exact=False).filter(
        has=console.page.get_by_role("rowheader", name="Assigned", exact=True)
    )
    expect(assigned).to_contain_text(f"{answer['predicted']['assigned']}")
    expect(assigned).to_contain_text(f"{answer['recorded']['assigned']}")
    expect(
        results.get_by_role("img", name=f"Predicted and recorded shares per operator for {team.source['name']}")
    ).to_be_visible()
    for row in answer["operators"]:
        expect(results.get_by_role("row", name=row["operator_name"]).first).to_contain_text(
            f"{round(row['predicted_share'] * 100, 1):g}%"
        )
    check(console, "admin-insight-simulated")


def test_GIVEN_suggestions_WHEN_rejected_then_accepted_THEN_only_accepting_moves_the_weights_into_the_history(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console, _ = admin_console(new_console, stack, team)
    console.open(f"/insight/{team.source['id']}")
    advice = admin_api.ok("GET", f"/sources/{team.source['id']}/suggestions")
    section = console.page.get_by_role("region", name="Weight suggestions")
    for row in advice["operators"]:
        expect(section).to_contain_text(f"{row['operator_name']} converts")
        expect(section).to_contain_text(f"Weight {row['current_weight']} → {row['suggested_weight']}")
    moves = [row for row in advice["operators"] if row["suggested_weight"] != row["current_weight"]]
    # 1:3 with no conversions yet: the posterior is the same for both, so the suggestion evens them out.
    assert moves, dump(advice)

    before = admin_api.ok("GET", f"/sources/{team.source['id']}/weights")
    section.get_by_role("button", name="Reject").click()
    expect(section.get_by_text("Suggestion rejected; the weights stay as they are.")).to_be_visible()
    assert admin_api.ok("GET", f"/sources/{team.source['id']}/weights") == before

    section.get_by_role("button", name="Show it again").click()
    section.get_by_role("button", name="Accept the suggested weights").click()
    expect(section.get_by_text("Suggested weights applied")).to_be_visible()
    weights = {
        w["operator_id"]: w["weight"] for w in admin_api.ok("GET", f"/sources/{team.source['id']}/weights")["items"]
    }
    assert weights == {
        row["operator_id"]: row["suggested_weight"] for row in advice["operators"] if row["suggested_weight"]
    }
    history = console.page.get_by_role("region", name="Weight history")
    expect(history.get_by_text("accepted suggestion").first).to_be_visible()
    # The simulator's form now starts from the new weights.
    first = moves[0]
    name = team.anna["name"] if first["operator_id"] == team.anna["id"] else team.boris["name"]
    expect(console.page.get_by_label(f"Proposed weight of {name}")).to_have_value(str(first["suggested_weight"]))


def test_GIVEN_a_source_WHEN_auto_tune_is_switched_THEN_the_source_says_so(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console, _ = admin_console(new_console, stack, team)
    console.open(f"/insight/{team.source['id']}")
    toggle = console.page.get_by_label("Auto-tune the weights")
    expect(toggle).not_to_be_checked()

    toggle.check()
    expect(toggle).to_be_checked()
    expect(console.page.locator("[aria-live=polite]")).to_have_text("Auto-tune is on.")
    assert admin_api.ok("GET", f"/sources/{team.source['id']}")["auto_tune"] is True
    toggle.uncheck()
    expect(console.page.locator("[aria-live=polite]")).to_have_text("Auto-tune is off.")
    assert admin_api.ok("GET", f"/sources/{team.source['id']}")["auto_tune"] is False


@pytest.fixture
def phone_admin(browser: Any, stack: RunningStack, team: Team) -> Iterator[Console]:
    context = browser.new_context(viewport=PHONE, locale="en-US")
    context.add_init_script(path=str(AXE))
    analytics(stack, team).install(context)
    console = Console(stack, context, context.new_page(), f"{PHONE['width']}px")
    console.page.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))
    console.sign_in(stack.token("admin"))
    yield console
    context.close()


def test_GIVEN_a_phone_WHEN_insight_views_open_THEN_they_fit_and_axe_is_content(
    phone_admin: Console, team: Team
) -> None:
    phone_admin.open("/insight")
    check(phone_admin, "admin-insight")
    phone_admin.open(f"/insight/{team.source['id']}")
    phone_admin.page.get_by_role("button", name="Run the simulation").click()
    expect(phone_admin.page.get_by_role("region", name="Simulation results")).to_be_visible()
    check(phone_admin, "admin-insight-source")


def test_GIVEN_russian_and_ukrainian_WHEN_the_leaderboard_opens_THEN_it_reads_in_that_language(
    new_console: Any, stack: RunningStack, team: Team
) -> None:
    for locale, heading, column in (
        ("ru-RU", "Рейтинг операторов", "Конверсия"),
        ("uk-UA", "Рейтинг операторів", "Конверсія"),
    ):
        console = new_console(locale=locale)
        analytics(stack, team).install(console.context)
        console.page.goto(stack.console_url)
        console.page.locator("textarea").first.fill(stack.token("admin"))
        console.page.locator("form button[type=submit]").click()
        console.signed_in()
        console.open("/insight")
        expect(console.page.get_by_role("heading", name=heading)).to_be_visible()
        expect(console.page.get_by_role("columnheader", name=column)).to_be_visible()
        assert console.axe() == []


def test_GIVEN_the_simulator_WHEN_asked_for_more_than_10000_appeals_THEN_the_api_s_422_names_the_field(
    new_console: Any, stack: RunningStack, team: Team
) -> None:
    console, _ = admin_console(new_console, stack, team)
    console.open(f"/insight/{team.source['id']}")
    console.page.get_by_label("Appeals to replay").fill("20000")
    console.page.get_by_role("button", name="Run the simulation").click()

    alert = console.page.get_by_role("alert")
    expect(alert).to_contain_text("Some values are not valid")
    expect(alert).to_contain_text("Appeals to replay:")
    expect(alert).to_contain_text("10000")
    expect(console.page.get_by_role("region", name="Simulation results")).to_have_count(0)
