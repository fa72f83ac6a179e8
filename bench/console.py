"""The console's first view on the local stack, from the browser's Performance API.

Starts `make run`'s stack on free ports (scripts/local/ephemeral_stack.py, data in
memory), seeds a small team (3 operators, 2 sources, 60 appeals of which most
are closed, a few waiting), then opens two first views in Debian's Chromium:

  - the operator's inbox (`#/inbox`), ready when its appeal cards are drawn;
  - the admin's distribution dashboard (`#/dashboard`), ready when its share
    charts and the "who is available" lists are drawn.

Each view is opened `--repeats` times in a fresh browser context (cold: nothing
cached) and again in the same context (warm: the hashed script and styles come
from the browser cache, the page revalidates with a 304). Reported per view,
median over the repeats, in milliseconds since navigation start: time to first
byte, DOMContentLoaded, first contentful paint, and "first view" (the moment
the view's data is on screen, taken inside the page as `performance.now()`).
Also the bytes transferred for the page, the script and the styles.

Numbers, not assertions: they depend on the machine. `--screenshots DIR` also
saves the inbox and the dashboard there (the README's pictures).

    python -m bench.console [--repeats 7] [--screenshots docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from scripts.local.chromium import CHROMIUM_ARGS, chromium_path
from scripts.local.dev_auth import DevKeys
from scripts.local.dynamodb_local import REPO_ROOT
from scripts.local.ephemeral_stack import RunningStack, ephemeral_stack

VIEWS = {
    "operator inbox": ("operator", "/inbox", "() => document.querySelectorAll('.appeal-card').length >= 3"),
    "admin dashboard": (
        "admin",
        "/dashboard",
        "() => document.querySelector('.source-card canvas') && document.querySelector('.availability')",
    ),
}
TIMINGS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime]));
  const resources = performance.getEntriesByType('resource');
  const bytes = (suffix) => resources.filter((r) => r.name.endsWith(suffix)).reduce((a, r) => a + r.transferSize, 0);
  return {
    ttfb: nav.responseStart,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    first_contentful_paint: paint['first-contentful-paint'] ?? null,
    page_bytes: nav.transferSize,
    script_bytes: bytes('.js'),
    style_bytes: bytes('.css'),
  };
}"""


class Client:
    def __init__(self, stack: RunningStack) -> None:
        self.base = stack.base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {stack.token('admin')}"

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.session.request(method, self.base + path, json=body, timeout=30)
        reply.raise_for_status()
        return reply.json() if reply.content else None


def seed(stack: RunningStack) -> str:
    """A team a day into its work; returns the operator whose inbox is shown."""
    api = Client(stack)
    team = {name: api("POST", "/operators", {"name": name, "max_load": 6}) for name in ("Anna", "Boris", "Olena")}
    telegram = api(
        "POST", "/sources", {"name": "Telegram bot", "description": "@acme_bot", "response_sla_seconds": 900}
    )
    web = api("POST", "/sources", {"name": "Website form", "strategy": "weighted_capacity"})
    api("PUT", f"/sources/{telegram['id']}/weights", [
        {"operator_id": team["Anna"]["id"], "weight": 20},
        {"operator_id": team["Boris"]["id"], "weight": 50},
        {"operator_id": team["Olena"]["id"], "weight": 30},
    ])  # fmt: skip
    api("PUT", f"/sources/{web['id']}/weights", [
        {"operator_id": team["Anna"]["id"], "weight": 1},
        {"operator_id": team["Olena"]["id"], "weight": 1},
    ])  # fmt: skip
    messages = [
        "Hello! How much is the annual plan?",
        "Do you deliver to Lviv by Friday?",
        "Can I pay by invoice as a company?",
        "Is there a discount for 20 seats?",
        "My order has not arrived yet",
    ]
    names = ["Ivan", "Oksana", "Dmytro", "Maria", "Serhii", "Kateryna", "Andrii", "Iryna", "Taras", "Sofia"]
    for n in range(60):
        source = telegram if n % 4 else web
        appeal = api("POST", "/appeals", {
            "lead_external_id": f"tg:{100500 + n}" if source is telegram else f"web:lead-{n}",
            "source_id": source["id"],
            "message": messages[n % len(messages)],
            "lead_name": f"{names[n % len(names)]} {chr(65 + n % 26)}.",
            "message_id": f"demo-{n}",
        })  # fmt: skip
        if n < 50 and appeal["status"] == "active":
            api("POST", f"/appeals/{appeal['id']}/close")
    boris = team["Boris"]["id"]
    mine = api("GET", f"/operators/{boris}/appeals?status=active")["items"]
    for appeal in mine[-2:]:
        api("POST", f"/appeals/{appeal['id']}/accept", {"operator_id": boris})
    return str(boris)


def measure(browser: Any, stack: RunningStack, token: str, view: str, ready: str, warm: bool) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # The token as the sign-in screen leaves it: in sessionStorage, never in the URL.
    context.add_init_script(f"sessionStorage.setItem('leadcrm.token', {json.dumps(token)})")
    page = context.new_page()
    try:
        url = f"{stack.console_url}#{view}"
        if warm:
            page.goto(url)
            page.wait_for_function(ready, timeout=30_000)
            page.goto("about:blank")
        page.goto(url)
        ready_at = page.wait_for_function(f"() => ({ready})() && performance.now()", timeout=30_000).json_value()
        timings = page.evaluate(TIMINGS)
        return {**timings, "first_view": ready_at}
    finally:
        context.close()


def screenshots(browser: Any, stack: RunningStack, operator_id: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shots = {
        "console-inbox.png": (stack.token("operator", operator_id), "/inbox", VIEWS["operator inbox"][2]),
        "console-distribution.png": (stack.token("admin"), "/dashboard", VIEWS["admin dashboard"][2]),
    }
    for name, (token, view, ready) in shots.items():
        context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        context.add_init_script(f"sessionStorage.setItem('leadcrm.token', {json.dumps(token)})")
        page = context.new_page()
        page.goto(f"{stack.console_url}#{view}")
        page.wait_for_function(ready, timeout=30_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(directory / name))
        context.close()
        print(f"saved {directory / name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    chromium = chromium_path()
    if chromium is None or not (REPO_ROOT / "chalicelib" / "console_dist" / "manifest.json").exists():
        print("needs Debian's chromium and the built console: run `make test` or `make console` first", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as keys_dir, ephemeral_stack(DevKeys.load_or_create(Path(keys_dir))) as stack:
        operator_id = seed(stack)
        manifest = json.loads((REPO_ROOT / "chalicelib" / "console_dist" / "manifest.json").read_text())
        size = manifest["gzipped_bytes"] / 1024
        print(f"console bundle: {manifest['script']} + {manifest['style']}, {size:.1f} KB gzipped")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            print(f"\n{args.repeats} runs each, median, ms since navigation start (Chromium {browser.version})\n")
            print("| view | cache | TTFB | DOMContentLoaded | first contentful paint | first view | bytes in |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for label, (role, view, ready) in VIEWS.items():
                token = stack.token("operator", operator_id) if role == "operator" else stack.token("admin")
                for warm in (False, True):
                    runs = [measure(browser, stack, token, view, ready, warm) for _ in range(args.repeats)]
                    med = {key: statistics.median(run[key] or 0 for run in runs) for key in runs[0]}
                    transferred = med["page_bytes"] + med["script_bytes"] + med["style_bytes"]
                    print(
                        f"| {label} | {'warm' if warm else 'cold'} | {med['ttfb']:.0f} | "
                        f"{med['dom_content_loaded']:.0f} | {med['first_contentful_paint']:.0f} | "
                        f"{med['first_view']:.0f} | {transferred / 1024:.1f} KB |"
                    )
            if args.screenshots:
                screenshots(browser, stack, operator_id, args.screenshots)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
