"""How the browser tests and the console bench launch Debian's Chromium (Playwright's download is unreachable)."""

from __future__ import annotations

import shutil

__all__ = ["CHROMIUM_ARGS", "chromium_path"]

# Headless, as root, and quiet on a closed network: without the background-networking
# flags Chromium keeps opening connections this machine refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")
