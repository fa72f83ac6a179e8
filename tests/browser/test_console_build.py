"""The console's build, without a browser: its size budget and its catalogues."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess

import pytest

from scripts.local.dynamodb_local import REPO_ROOT

DIST = REPO_ROOT / "chalicelib" / "console_dist"
SOURCES = REPO_ROOT / "console" / "src"
BUDGET_BYTES = 150 * 1024


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = DIST / "manifest.json"
    if not path.exists():
        pytest.skip("the console is not built (`make console`; `make test` builds it)")
    return json.loads(path.read_text())


def test_GIVEN_the_built_console_WHEN_its_script_and_styles_are_gzipped_THEN_they_fit_150_kb(manifest: dict) -> None:
    sizes = {
        name: len(gzip.compress((DIST / name).read_bytes(), 9)) for name in (manifest["script"], manifest["style"])
    }

    assert sum(sizes.values()) <= BUDGET_BYTES, sizes
    assert set(manifest["files"]) == {manifest["script"], manifest["style"], "index.html", "favicon.svg"}


def test_GIVEN_the_built_console_WHEN_read_THEN_nothing_is_fetched_from_another_origin(manifest: dict) -> None:
    index = (DIST / "index.html").read_text()
    script = (DIST / manifest["script"]).read_text()

    assert re.findall(r'(?:src|href)="([^"]+)"', index) == ["favicon.svg", manifest["style"], manifest["script"]]
    # No absolute URL the page would load: only the Cognito domain config.json names at run time.
    assert not re.search(r"""(?:import\(|fetch\(|src=)["']https?://""", script)


def catalogues() -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    program = (
        "const load = async (l) => (await import(`./console/src/locales/${l}.js`)).default;"
        "Promise.all(['en','ru','uk'].map(load)).then(([en, ru, uk]) => console.log(JSON.stringify({en, ru, uk})));"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", program], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def base(key: str) -> str:
    return re.sub(r"\.(zero|one|two|few|many|other)$", "", key)


def test_GIVEN_the_three_catalogues_WHEN_compared_THEN_each_says_every_message_with_the_same_placeholders() -> None:
    found = catalogues()
    english = {base(key) for key in found["en"]}
    for language in ("ru", "uk"):
        assert {base(key) for key in found[language]} == english, language
        for key, text in found[language].items():
            reference = found["en"].get(key) or found["en"][f"{base(key)}.other"]
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", reference)), (language, key)
    for language in ("ru", "uk"):
        plural = {base(key) for key in found[language] if key.endswith(".other")}
        for key in plural:
            assert {f"{key}.{form}" for form in ("one", "few", "many", "other")} <= set(found[language]), key


def test_GIVEN_the_console_sources_WHEN_scanned_THEN_every_message_key_they_name_is_in_the_catalogue() -> None:
    english = {base(key) for key in catalogues()["en"]}
    named: set[str] = set()
    for path in SOURCES.rglob("*.js*"):
        if "locales" in path.parts:
            continue
        text = path.read_text()
        # t("key"), t.n("key", …) and the keys chosen by a condition: t(x ? "a" : "b").
        for call in re.findall(r"\bt(?:\.n)?\(([^()]*)", text):
            named.update(re.findall(r'"([a-z_]+(?:\.[a-z0-9_]+)+)"', call))
    missing = sorted(key for key in named if key not in english)

    assert len(named) > 300
    assert missing == []
