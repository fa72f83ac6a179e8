"""The console in a real Chromium (Debian's `chromium`, driven by Playwright) against
`make run`'s stack on free ports (scripts/local/ephemeral_stack.py), one stack per session.

Every page gets axe-core injected before its own scripts (an init script, which
the page's Content-Security-Policy does not govern). Screenshots of each view go
to build/console-screenshots/. Without chromium, Playwright or the built console
the tier is skipped, loudly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import requests

from scripts.local.chromium import CHROMIUM_ARGS, chromium_path
from scripts.local.dev_auth import DevKeys
from scripts.local.dynamodb_local import REPO_ROOT
from scripts.local.ephemeral_stack import RunningStack, ephemeral_stack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ARTIFACTS = REPO_ROOT / "build" / "console-screenshots"
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
DIST = REPO_ROOT / "chalicelib" / "console_dist" / "manifest.json"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}

_missing: list[str] = []


def _why_skipped() -> str | None:
    if not _missing:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            _missing.append("Playwright is not installed (requirements-dev.txt; `make test` installs it)")
    if not _missing and chromium_path() is None:
        _missing.append("chromium is not installed (`make test` installs Debian's package)")
    if not _missing and not DIST.exists():
        _missing.append("the console is not built (`make console`; `make test` builds it)")
    if not _missing and not AXE.exists():
        _missing.append("axe-core is not installed (`npm ci`; `make test` runs it)")
    return _missing[0] if _missing else None


@pytest.fixture(scope="session")
def browser_keys(tmp_path_factory: pytest.TempPathFactory) -> DevKeys:
    return DevKeys.load_or_create(tmp_path_factory.mktemp("browser-auth"))


@pytest.fixture(scope="session")
def stack(browser_keys: DevKeys) -> Iterator[RunningStack]:
    reason = _why_skipped()
    if reason:
        pytest.skip(f"browser tier SKIPPED: {reason}")
    with ephemeral_stack(browser_keys) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _why_skipped()
    if reason:
        pytest.skip(f"browser tier SKIPPED: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Api:
    """JSON over HTTP to the running stack, as the admin (or whoever the token says)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, self.base_url + path, json=body, timeout=30)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.call(method, path, body)
        assert reply.status_code < 300, (method, path, reply.status_code, reply.text)
        return reply.json() if reply.content else None


@pytest.fixture(scope="session")
def admin_api(stack: RunningStack) -> Api:
    return Api(stack.base_url, stack.token("admin"))


@dataclass
class Console:
    """One signed-in browser context: a page object for the console."""

    stack: RunningStack
    context: Any
    page: Any
    label: str
    errors: list[str] = field(default_factory=list)

    def open(self, view: str = "") -> None:
        self.page.goto(f"{self.stack.console_url}#{view}")
        if view:
            self.page.locator(f'main[data-path="{view}"]').wait_for()
        self.settle()

    def sign_in(self, token: str) -> None:
        self.page.goto(self.stack.console_url)
        self.page.get_by_label("Token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.signed_in()

    def signed_in(self) -> None:
        """Until the start page (inbox or dashboard) has its data drawn."""
        self.page.locator("main[data-path]").first.wait_for()
        self.settle()

    def settle(self) -> None:
        """Until the view's first data is drawn (no "Loading…" left)."""
        self.page.locator("main h1").first.wait_for()
        self.page.wait_for_function("() => !document.querySelector('.loading')", timeout=15_000)

    def axe(self) -> list[dict[str, Any]]:
        """Serious and critical violations on the page as it is now."""
        result = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]

    def overflow(self) -> int:
        """How many pixels the page is wider than the viewport (0: no sideways scrolling)."""
        return int(
            self.page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}-{self.label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def new_console(browser: Any, stack: RunningStack) -> Iterator[Any]:
    """A factory of fresh browser contexts (one per person), closed after the test."""
    opened: list[Console] = []

    def make(viewport: dict[str, int] | None = None, label: str | None = None, locale: str = "en-US") -> Console:
        size = viewport or DESKTOP
        context = browser.new_context(viewport=size, locale=locale)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        console = Console(stack, context, page, label or f"{size['width']}px")
        page.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                console.errors.append(f"console.{message.type}: {message.text}")
                if message.type == "error" and "status of 4" not in message.text
                else None
            ),
        )
        opened.append(console)
        return console

    yield make
    for console in opened:
        console.context.close()


def unique(prefix: str) -> str:
    return f"{prefix} {next(_counter):03d}"


def _numbers() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_counter = _numbers()


def appeal(api: Api, source_id: str, external_id: str, message: str = "Hi! How much is it?", **fields: Any) -> Any:
    return api.ok(
        "POST",
        "/appeals",
        {"lead_external_id": external_id, "source_id": source_id, "message": message, **fields},
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing:
        terminalreporter.write_sep("!", "browser tier SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"{_missing[0]}: the console was NOT tested in a browser in this run.", red=True)


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
