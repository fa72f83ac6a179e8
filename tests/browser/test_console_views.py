"""Every view at phone width (360 px) and on a desktop: axe-core finds no serious or
critical violation, nothing scrolls sideways, no script error, and a screenshot is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, DESKTOP, PHONE, Api, Console, appeal, dump, unique

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.ephemeral_stack import RunningStack


@dataclass(frozen=True)
class World:
    operator: dict[str, Any]
    source: dict[str, Any]
    active: dict[str, Any]
    lead_id: str


@pytest.fixture(scope="module")
def world(admin_api: Api) -> World:
    """A team with work in every state: accepted, unaccepted, closed, waiting, a scored lead and a deal."""
    operator = admin_api.ok("POST", "/operators", {"name": unique("Daryna"), "max_load": 3})
    helper = admin_api.ok("POST", "/operators", {"name": unique("Petro"), "max_load": 1})
    source = admin_api.ok("POST", "/sources", {"name": unique("Telegram"), "response_sla_seconds": 900})
    admin_api.ok(
        "PUT",
        f"/sources/{source['id']}/weights",
        [{"operator_id": operator["id"], "weight": 2}, {"operator_id": helper["id"], "weight": 1}],
    )
    admin_api.ok("PATCH", f"/operators/{helper['id']}", {"is_active": False})
    appeals = [appeal(admin_api, source["id"], f"tg:view-{n}", lead_name=f"Lead {n}") for n in range(4)]
    admin_api.ok("POST", f"/appeals/{appeals[0]['id']}/accept", {"operator_id": operator["id"]})
    admin_api.ok("POST", f"/appeals/{appeals[1]['id']}/close")
    lead_id = appeals[0]["lead_id"]
    admin_api.ok("PATCH", f"/leads/{lead_id}", {"business_domain": "logistics", "phone": "+380501234567"})
    for stage in ("contacted", "qualified"):
        admin_api.ok("POST", f"/leads/{lead_id}/stage", {"stage": stage})
    admin_api.ok("POST", f"/leads/{lead_id}/analyze")
    ready = appeal(admin_api, source["id"], "tg:view-deal", lead_name="Deal lead")["lead_id"]
    admin_api.ok("PATCH", f"/leads/{ready}", {"business_domain": "retail"})
    for stage in ("contacted", "qualified"):
        admin_api.ok("POST", f"/leads/{ready}/stage", {"stage": stage})
    admin_api.ok("POST", f"/leads/{ready}/analyze")
    admin_api.ok("POST", f"/leads/{ready}/transfer")
    # Full now (3 of 3): the next one waits in line.
    assert appeal(admin_api, source["id"], "tg:view-waiting")["status"] == "waiting"
    return World(operator=operator, source=source, active=appeals[0], lead_id=lead_id)


ADMIN_VIEWS = [
    "/dashboard",
    "/waiting",
    "/operators",
    "/operators/{operator}",
    "/sources",
    "/sources/{source}",
    "/funnel",
    "/deals",
    "/scoring",
    "/jobs",
    "/leads/{lead}",
    "/appeals/{appeal}",
]
OPERATOR_VIEWS = ["/inbox", "/inbox/closed", "/appeals/{appeal}"]
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def signed_in(browser: Any, stack: RunningStack, world: World) -> Iterator[dict[tuple[str, str], Console]]:
    consoles: dict[tuple[str, str], Console] = {}
    for role in ("admin", "operator"):
        for size_name, size in SIZES.items():
            context = browser.new_context(viewport=size, locale="en-US")
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            console = Console(stack, context, page, f"{size['width']}px")
            page.on("pageerror", lambda error, c=console: c.errors.append(f"pageerror: {error}"))
            token = stack.token("admin") if role == "admin" else stack.token("operator", world.operator["id"])
            console.sign_in(token)
            consoles[(role, size_name)] = console
    yield consoles
    for console in consoles.values():
        console.context.close()


def view_path(template: str, world: World) -> str:
    return template.format(
        operator=world.operator["id"], source=world.source["id"], lead=world.lead_id, appeal=world.active["id"]
    )


def check(console: Console, name: str) -> None:
    console.screenshot(name)
    violations = console.axe()
    assert violations == [], dump(violations)
    assert console.overflow() <= 0, f"{name} scrolls sideways by {console.overflow()} px"
    assert console.errors == [], console.errors


CASES = [("admin", view, size) for view in ADMIN_VIEWS for size in SIZES] + [
    ("operator", view, size) for view in OPERATOR_VIEWS for size in SIZES
]


@pytest.mark.parametrize(("role", "view", "size"), CASES, ids=[f"{r}{v}-{s}" for r, v, s in CASES])
def test_GIVEN_a_view_WHEN_opened_THEN_axe_finds_nothing_serious_and_it_fits_the_screen(
    signed_in: dict[tuple[str, str], Console], world: World, role: str, view: str, size: str
) -> None:
    console = signed_in[(role, size)]
    console.open(view_path(view, world))
    if size == "phone":
        menu = console.page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
    name = f"{role}-{view.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"

    check(console, name)


def test_GIVEN_a_phone_WHEN_the_menu_is_opened_THEN_every_entry_is_reachable_and_axe_is_content(
    signed_in: dict[tuple[str, str], Console], world: World
) -> None:
    console = signed_in[("admin", "phone")]
    console.open("/dashboard")
    menu = console.page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    navigation = console.page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link")).to_have_count(10)
    check(console, "admin-menu")
    navigation.get_by_role("link", name="Scheduled jobs").click()
    expect(console.page.get_by_role("heading", name="Scheduled jobs", level=1)).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")


def test_GIVEN_the_jobs_view_WHEN_a_job_is_run_now_THEN_its_report_shows_in_words(
    signed_in: dict[tuple[str, str], Console],
) -> None:
    console = signed_in[("admin", "desktop")]
    console.open("/jobs")
    console.page.get_by_role("button", name="Run now: Counter audit").click()
    report = console.page.locator("section", has_text="Counter audit").locator("table")
    expect(report.get_by_role("row", name="Counter drift 0")).to_be_visible()
    expect(report.get_by_role("row", name="Operators checked")).to_be_visible()
    check(console, "admin-jobs-report")


def test_GIVEN_the_sign_in_page_WHEN_a_wrong_or_expired_token_is_given_THEN_it_says_so_in_words(
    new_console: Any,
) -> None:
    for size in (DESKTOP, PHONE):
        console = new_console(viewport=size)
        console.page.goto(console.stack.console_url)
        console.page.get_by_label("Token").fill("not a token")
        console.page.get_by_role("button", name="Sign in").click()
        expect(console.page.get_by_role("alert")).to_contain_text("does not look like a token")
        console.page.get_by_label("Token").fill(console.stack.token("admin", expires_in=-120))
        console.page.get_by_role("button", name="Sign in").click()
        expect(console.page.get_by_role("alert")).to_contain_text("The API refused this token")
        expect(console.page.get_by_text("Your session ended")).to_have_count(0)
        assert console.page.evaluate("() => sessionStorage.getItem('leadcrm.token')") is None
        check(console, "signin")


def test_GIVEN_a_signed_in_admin_WHEN_the_token_expires_THEN_the_console_returns_to_sign_in_and_says_why(
    new_console: Any,
) -> None:
    console = new_console()
    console.sign_in(console.stack.token("admin", expires_in=10))

    expect(console.page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=20_000)
    expect(console.page.get_by_role("status").filter(has_text="Your token expired")).to_be_visible()
    assert console.page.evaluate("() => sessionStorage.getItem('leadcrm.token')") is None
