"""Insight (issue 19) in a real Chromium against the real API: the operator leaderboard, a
source's hourly timeline, the what-if simulator next to what happened, weight suggestions
(accept, reject), auto-tune and the weights' history; axe and fit at 360 px and 1280 px.

The history is made through the API (appeals, accepts, closes, a lead transferred) and the
analytics are the stats table the stack's stream pollers feed: the fixture waits, against a
deadline, until the API counts what it made, so every number asserted is one it caused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, DESKTOP, PHONE, Api, Console, appeal, dump, unique

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scripts.local.ephemeral_stack import RunningStack

# Anna takes 4 appeals (accepts all, closes 3, one lead goes on to a deal), Boris 8 (accepts and
# closes all), then one appeal waits in the line while both are paused.
ANNA = {"assigned": 4, "accepted": 4, "closed": 3, "transferred": 1}
BORIS = {"assigned": 8, "accepted": 8, "closed": 8, "transferred": 0}
ARRIVALS, ASSIGNED, WAITING = 13, 12, 1
STATS_DEADLINE_SECONDS = 30


@dataclass(frozen=True)
class Team:
    anna: dict[str, Any]
    boris: dict[str, Any]
    source: dict[str, Any]
    carl: dict[str, Any]


def set_presence(api: Api, operator: dict[str, Any], presence: str) -> None:
    api.ok("PATCH", f"/operators/{operator['id']}", {"presence": presence})


def handled(api: Api, source_id: str, operator: dict[str, Any], n: int, close: int) -> list[dict[str, Any]]:
    """`n` new appeals, all the operator's (the only one available): accepted, the first `close` closed."""
    made = []
    for i in range(n):
        item = appeal(api, source_id, f"tg:{unique('insight').replace(' ', '-')}")
        assert (item["status"], (item["operator"] or {}).get("id")) == ("active", operator["id"]), dump(item)
        api.ok("POST", f"/appeals/{item['id']}/accept", {"operator_id": operator["id"]})
        if i < close:
            api.ok("POST", f"/appeals/{item['id']}/close")
        made.append(item)
    return made


def transfer(api: Api, lead_id: str) -> None:
    """A lead to a deal, the way a person would: domain, contacted, qualified, scored, transferred."""
    api.ok("PATCH", f"/leads/{lead_id}", {"business_domain": "retail"})
    api.ok("POST", f"/leads/{lead_id}/stage", {"stage": "contacted"})
    api.ok("POST", f"/leads/{lead_id}/stage", {"stage": "qualified"})
    api.ok("POST", f"/leads/{lead_id}/analyze")
    api.ok("POST", f"/leads/{lead_id}/transfer")


def eventually(what: str, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """Polls `read` until `done` holds (the stream pollers run every second or so), else fails."""
    deadline = time.monotonic() + STATS_DEADLINE_SECONDS
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what} not counted within {STATS_DEADLINE_SECONDS} s: {dump(value)}"
        time.sleep(0.2)


def week_query(extra: str = "") -> str:
    today = datetime.now(UTC).date()
    return f"from={today - timedelta(days=6)}&to={today}{extra}"


def board(api: Api, source_id: str) -> dict[str, dict[str, Any]]:
    answer = api.ok("GET", f"/stats/operators?{week_query(f'&source_id={source_id}')}")
    return {row["operator_id"]: row for row in answer["operators"]}


def timeline(api: Api, source_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = api.ok("GET", f"/stats/sources/{source_id}/timeline?{week_query()}")
    return answer


@pytest.fixture(scope="module")
def team(admin_api: Api) -> Team:
    """Two operators at weights 1:3 on a source with a history made through the API; presence
    decides who takes what, so the counts are known."""
    anna = admin_api.ok("POST", "/operators", {"name": unique("Anna"), "max_load": 5})
    boris = admin_api.ok("POST", "/operators", {"name": unique("Boris"), "max_load": 5})
    carl = admin_api.ok("POST", "/operators", {"name": unique("Carl"), "max_load": 2})  # no weight here
    source = admin_api.ok("POST", "/sources", {"name": unique("Insight bot"), "response_sla_seconds": 600})
    admin_api.ok(
        "PUT",
        f"/sources/{source['id']}/weights",
        [{"operator_id": anna["id"], "weight": 1}, {"operator_id": boris["id"], "weight": 3}],
    )
    set_presence(admin_api, boris, "paused")
    annas = handled(admin_api, source["id"], anna, ANNA["assigned"], close=ANNA["closed"])
    transfer(admin_api, annas[-1]["lead_id"])
    set_presence(admin_api, boris, "available")
    set_presence(admin_api, anna, "paused")
    handled(admin_api, source["id"], boris, BORIS["assigned"], close=BORIS["closed"])
    set_presence(admin_api, boris, "paused")
    assert appeal(admin_api, source["id"], "tg:insight-waiting")["status"] == "waiting"

    def counted(rows: dict[str, dict[str, Any]]) -> bool:
        wanted = ((anna, ANNA), (boris, BORIS))
        return all({key: rows.get(who["id"], {}).get(key) for key in numbers} == numbers for who, numbers in wanted)

    eventually("the operators' numbers", lambda: board(admin_api, source["id"]), counted)
    eventually(
        "the source's hours",
        lambda: timeline(admin_api, source["id"]),
        lambda answer: (
            (sum(h["arrivals"] for h in answer["hours"]), sum(h["assigned"] for h in answer["hours"]))
            == (ARRIVALS, ASSIGNED)
        ),
    )
    return Team(anna=anna, boris=boris, source=source, carl=carl)


def admin_console(new_console: Any, stack: RunningStack, size: dict[str, int] = DESKTOP) -> Console:
    console: Console = new_console(viewport=size)
    console.sign_in(stack.token("admin"))
    return console


def clock(seconds: float | None) -> str:
    """The console's duration: m:ss or h:mm:ss, a dash for none."""
    if seconds is None:
        return "—"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def check(console: Console, name: str) -> None:
    console.screenshot(name)
    violations = console.axe()
    assert violations == [], dump(violations)
    assert console.overflow() <= 0, f"{name} scrolls sideways by {console.overflow()} px"
    assert console.errors == [], console.errors


def leaderboard_names(console: Console, team: Team) -> list[str]:
    """The team's rows in the order shown (the stack's other operators are listed too)."""
    ours = {team.anna["name"], team.boris["name"], team.carl["name"]}
    table = console.page.get_by_role("table").first
    return [name for name in (text.strip() for text in table.locator("tbody th").all_inner_texts()) if name in ours]


def test_GIVEN_the_leaderboard_WHEN_opened_and_sorted_THEN_it_asks_for_the_last_7_days_and_orders_by_the_column(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console = new_console()
    asked: list[str] = []
    console.page.on("request", lambda request: asked.append(request.url) if "/stats/operators" in request.url else None)
    console.sign_in(stack.token("admin"))
    console.open("/insight")

    today = datetime.now(UTC).date()
    expect(console.page.get_by_label("From", exact=True)).to_have_value(str(today - timedelta(days=6)))
    expect(console.page.get_by_label("To", exact=True)).to_have_value(str(today))
    assert parse_qs(urlparse(asked[0]).query) == {"from": [str(today - timedelta(days=6))], "to": [str(today)]}
    # Default: most assigned first; Boris 8, Anna 4 (Carl, with none, below them).
    assert leaderboard_names(console, team) == [team.boris["name"], team.anna["name"], team.carl["name"]]
    # Each cell is the API's number: counts as they are, durations as clocks, conversion as a bar.
    rows = {row["operator_id"]: row for row in admin_api.ok("GET", f"/stats/operators?{week_query()}")["operators"]}
    for who, numbers in ((team.anna, ANNA), (team.boris, BORIS)):
        row = rows[who["id"]]
        assert {key: row[key] for key in numbers} == numbers, dump(row)
        cells = (
            console.page.get_by_role("row", name=who["name"], exact=False)
            .filter(has=console.page.get_by_role("rowheader", name=who["name"], exact=True))
            .locator("td")
        )
        conversion = numbers["transferred"] / numbers["assigned"]
        expect(cells).to_have_text(
            [
                str(numbers["assigned"]),
                clock(row["accept_p50_seconds"]),
                clock(row["accept_p90_seconds"]),
                clock(row["close_p50_seconds"]),
                f"{round(conversion * 100)}%",
                str(row["sla_lapses"]),
            ]
        )
    expect(console.page.get_by_label(f"Conversion of {team.anna['name']}")).to_have_text("25%")

    conversion = console.page.get_by_role("button", name="Conversion")
    conversion.click()
    expect(console.page.get_by_role("columnheader", name="Conversion")).to_have_attribute("aria-sort", "descending")
    # Anna 1 of 4, Boris 0 of 8; Carl assigned nothing: no conversion, last either way.
    assert leaderboard_names(console, team) == [team.anna["name"], team.boris["name"], team.carl["name"]]
    conversion.press("Enter")  # by keyboard: the same button, the other way
    expect(console.page.get_by_role("columnheader", name="Conversion")).to_have_attribute("aria-sort", "ascending")
    assert leaderboard_names(console, team) == [team.boris["name"], team.anna["name"], team.carl["name"]]

    # A source filter and a new range go to the API as asked; the source lists its operators only.
    console.page.get_by_label("Source", exact=True).select_option(label=team.source["name"])
    month_ago = str(today - timedelta(days=30))
    with console.page.expect_request(
        lambda request: "/stats/operators" in request.url and month_ago in request.url
    ) as sent:
        console.page.get_by_label("From", exact=True).fill(month_ago)
    last = parse_qs(urlparse(sent.value.url).query)
    assert last == {"from": [str(today - timedelta(days=30))], "to": [str(today)], "source_id": [team.source["id"]]}
    console.settle()
    expect(console.page.get_by_role("table").first.locator("tbody th")).to_have_count(2)
    assert leaderboard_names(console, team) == [team.boris["name"], team.anna["name"]]
    check(console, "admin-insight")


def test_GIVEN_a_source_WHEN_its_insight_opens_THEN_the_timeline_is_drawn_with_the_same_numbers_as_a_table(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console = admin_console(new_console, stack)
    console.open(f"/insight/{team.source['id']}")

    chart = console.page.get_by_role(
        "img", name=f"Hourly arrivals, assignments, waiting line and median wait for {team.source['name']}"
    )
    expect(chart).to_be_visible()
    kpis = console.page.locator(".kpi-value")
    expect(kpis).to_have_text([str(ARRIVALS), str(ASSIGNED)])
    # The hours with traffic, as the API counts them up to now (the fixture may have run across an hour).
    now = datetime.now(UTC)
    busy = [
        h
        for h in timeline(admin_api, team.source["id"])["hours"]
        if datetime.fromisoformat(h["hour"]) <= now and (h["arrivals"] or h["assigned"] or h["waiting"])
    ]
    assert sum(h["arrivals"] for h in busy) == ARRIVALS and busy[-1]["waiting"] == WAITING, dump(busy)
    console.page.get_by_text(re.compile(r"\d+ hours? with traffic, as a table")).click()
    table = console.page.locator("details table")
    expect(table.locator("tbody tr")).to_have_count(len(busy))
    last = table.locator("tbody tr").last.locator("td")
    hour = busy[-1]
    expect(last).to_have_text(
        [str(hour["arrivals"]), str(hour["assigned"]), str(WAITING), clock(hour["median_wait_seconds"])]
    )
    check(console, "admin-insight-source")


def test_GIVEN_the_simulator_WHEN_run_with_proposed_weights_THEN_results_stand_next_to_what_happened(
    new_console: Any, stack: RunningStack, team: Team, admin_api: Api
) -> None:
    console = admin_console(new_console, stack)
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
    console = admin_console(new_console, stack)
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
    console = admin_console(new_console, stack)
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
    console = admin_console(new_console, stack)
    console.open(f"/insight/{team.source['id']}")
    console.page.get_by_label("Appeals to replay").fill("20000")
    console.page.get_by_role("button", name="Run the simulation").click()

    alert = console.page.get_by_role("alert")
    expect(alert).to_contain_text("Some values are not valid")
    expect(alert).to_contain_text("Appeals to replay:")
    expect(alert).to_contain_text("10000")
    expect(console.page.get_by_role("region", name="Simulation results")).to_have_count(0)
