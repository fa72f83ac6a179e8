"""The runtime dependencies are hash-locked: every package the Lambda bundle
ships (transitive ones included) is pinned, with the hashes of its files, and
the environment the tests run in is that lock."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$")


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from requirements.txt."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in lines:
        match = _REQUIREMENT.match(line)
        if match:
            current = match[1].lower()
            found[current] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            pinned, hashes = found[current]
            found[current] = (pinned, hashes + 1)
        elif line and not line.startswith(("#", " ")):
            raise AssertionError(f"not a pinned, hashed requirement: {line!r}")
    return found


def test_GIVEN_the_lock_WHEN_read_THEN_every_package_is_pinned_with_hashes_and_the_direct_ones_are_there() -> None:
    lock = locked()
    direct = {
        line.split("==")[0].lower()
        for line in (ROOT / "requirements.in").read_text().splitlines()
        if line and not line.startswith("#")
    }

    assert direct <= set(lock)
    assert len(lock) > len(direct)  # the transitive ones too (pydantic-core, botocore, cffi, ...)
    assert all(hashes >= 1 for _, hashes in lock.values())


def test_GIVEN_the_test_environment_WHEN_comparing_with_the_lock_THEN_every_runtime_package_is_the_locked_version() -> (
    None
):
    assert {name: version(name) for name in locked()} == {name: pinned for name, (pinned, _) in locked().items()}


def test_GIVEN_make_install_WHEN_reading_it_THEN_the_runtime_is_installed_with_require_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()

    assert "--require-hashes -r requirements.txt" in makefile
    assert "-r requirements.txt" not in (ROOT / "requirements-dev.txt").read_text()
