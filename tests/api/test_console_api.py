"""What the console needs from the API: accept by token, pause/resume oneself,
conditional GETs, the scoring status, and the console's own files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.api.conditional import entity_tag, matches
from tests.support import operator_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys
    from tests.support import Api


def one_operator_source(api: Api, max_load: int = 5, **operator: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    anna = api.operator("Anna", max_load=max_load, **operator)
    source = api.source()
    api.weights(source["id"], {anna["id"]: 10})
    return anna, source


# --- accept: the token says who ------------------------------------------------------------


def test_GIVEN_an_operator_token_WHEN_accepting_its_appeal_without_a_body_THEN_accepted_as_that_operator(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api)
    appeal = api.appeal(source["id"])
    operator = api.as_(operator_token(dev_keys, anna["id"]))

    reply = operator.post(f"/appeals/{appeal['id']}/accept")

    assert reply.status == 200, reply.body
    assert reply.body["accepted_at"] is not None and reply.body["accept_by"] is None
    event = api.get(f"/appeals/{appeal['id']}/history").body["events"][-1]
    assert (event["type"], event["operator_id"]) == ("accepted", anna["id"])


def test_GIVEN_an_operator_token_WHEN_accepting_someone_elses_appeal_without_a_body_THEN_403(
    api: Api, dev_keys: DevKeys
) -> None:
    _, source = one_operator_source(api)
    boris = api.operator("Boris")
    appeal = api.appeal(source["id"])

    reply = api.as_(operator_token(dev_keys, boris["id"])).post(f"/appeals/{appeal['id']}/accept")

    assert (reply.status, reply.body["error"]) == (403, "forbidden")
    assert api.get(f"/appeals/{appeal['id']}").body["accepted_at"] is None


def test_GIVEN_an_admin_token_naming_no_operator_WHEN_accepting_without_a_body_THEN_400_body_required(
    api: Api,
) -> None:
    _, source = one_operator_source(api)
    appeal = api.appeal(source["id"])

    reply = api.post(f"/appeals/{appeal['id']}/accept")

    assert (reply.status, reply.body["error"]) == (400, "malformed_request")


# --- pause and resume oneself ----------------------------------------------------------------


def test_GIVEN_an_operator_WHEN_it_pauses_itself_THEN_new_appeals_wait_its_unaccepted_go_back_its_accepted_stay(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api, max_load=5)
    kept, unaccepted = api.appeal(source["id"]), api.appeal(source["id"])
    me = api.as_(operator_token(dev_keys, anna["id"]))
    assert me.post(f"/appeals/{kept['id']}/accept", {"operator_id": anna["id"]}).status == 200

    paused = me.patch("/me", {"is_active": False})
    waiting = api.appeal(source["id"])

    # A pause is presence, not employment: still active (signed in), but paused.
    assert (paused.status, paused.body["id"], paused.body["is_active"]) == (200, anna["id"], True)
    assert (paused.body["presence"], paused.body["current_load"]) == ("paused", 1)
    assert waiting["status"] == "waiting"
    assert api.get(f"/appeals/{kept['id']}").body["operator"]["id"] == anna["id"]
    assert api.get(f"/appeals/{unaccepted['id']}").body["status"] == "waiting"  # nobody else serves the source
    assert me.get("/me").body["operator"]["presence"] == "paused"


def test_GIVEN_the_presence_body_WHEN_pausing_with_a_reason_and_resuming_THEN_both_show_on_the_operator(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api)
    me = api.as_(operator_token(dev_keys, anna["id"]))

    paused = me.patch("/me", {"presence": "paused", "reason": "lunch"})
    listed = api.get(f"/operators/{anna['id']}").body
    waiting = api.appeal(source["id"])
    resumed = me.patch("/me", {"presence": "available"})

    assert (paused.status, paused.body["presence"], paused.body["presence_reason"]) == (200, "paused", "lunch")
    assert (listed["presence"], listed["presence_until"]) == ("paused", None)
    assert waiting["status"] == "waiting"
    assert (resumed.status, resumed.body["presence"], resumed.body["presence_reason"]) == (200, "available", None)
    assert api.get(f"/appeals/{waiting['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_presence_bodies_WHEN_they_are_contradictory_or_invalid_THEN_422_and_nothing_changes(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, _ = one_operator_source(api)
    me = api.as_(operator_token(dev_keys, anna["id"]))

    bad = [
        {"presence": "off_shift"},  # the schedule's word, not a switch
        {"presence": "paused", "is_active": False},
        {"presence": "available", "reason": "lunch"},
        {"presence": "paused", "reason": "x" * 101},
        {"reason": "lunch"},
    ]

    replies = [me.patch("/me", body) for body in bad]

    assert [reply.status for reply in replies] == [422] * len(bad)
    assert replies[0].body["errors"][0]["path"] == "body.presence"
    assert replies[2].body["errors"][0]["path"] == "body.reason"
    assert api.get(f"/operators/{anna['id']}").body["presence"] == "available"


def test_GIVEN_a_paused_operator_with_a_waiting_line_WHEN_it_resumes_THEN_the_line_comes_to_it_at_once(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api)
    me = api.as_(operator_token(dev_keys, anna["id"]))
    assert me.patch("/me", {"is_active": False}).status == 200
    waiting = api.appeal(source["id"])
    assert waiting["status"] == "waiting"

    resumed = me.patch("/me", {"is_active": True})

    assert (resumed.status, resumed.body["presence"], resumed.body["current_load"]) == (200, "available", 1)
    assert api.get(f"/appeals/{waiting['id']}").body["operator"]["id"] == anna["id"]


def test_GIVEN_an_operator_an_admin_deactivated_WHEN_it_tries_to_resume_itself_THEN_its_token_is_refused(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, _ = one_operator_source(api)
    token = operator_token(dev_keys, anna["id"])
    assert api.patch(f"/operators/{anna['id']}", {"is_active": False}).status == 200

    refused = api.as_(token).patch("/me", {"is_active": True})

    assert refused.status == 401
    assert api.get(f"/operators/{anna['id']}").body["is_active"] is False


def test_GIVEN_presence_WHEN_the_body_tries_anything_but_is_active_THEN_422_and_nothing_changes(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, _ = one_operator_source(api, max_load=5)
    me = api.as_(operator_token(dev_keys, anna["id"]))

    raised = me.patch("/me", {"is_active": True, "max_load": 1000})
    stringly = me.patch("/me", {"is_active": "false"})

    assert (raised.status, raised.body["errors"][0]["path"]) == (422, "body.max_load")
    assert stringly.status == 422
    assert api.get(f"/operators/{anna['id']}").body["max_load"] == 5


def test_GIVEN_an_admin_token_naming_no_operator_WHEN_pausing_itself_THEN_404(api: Api) -> None:
    reply = api.patch("/me", {"is_active": False})

    assert (reply.status, reply.body["error"]) == (404, "not_found")


# --- conditional GETs ---------------------------------------------------------------------


def test_GIVEN_a_list_WHEN_fetched_again_with_its_etag_THEN_304_without_a_body_until_it_changes(
    api: Api, dev_keys: DevKeys
) -> None:
    anna, source = one_operator_source(api)
    me = api.as_(operator_token(dev_keys, anna["id"]))
    first = me.get("/me/appeals?status=active")
    tag = first.headers["ETag"]

    unchanged = me.call("GET", "/me/appeals?status=active", headers={"If-None-Match": tag})
    api.appeal(source["id"])
    changed = me.call("GET", "/me/appeals?status=active", headers={"If-None-Match": tag})

    assert (unchanged.status, unchanged.body, unchanged.headers["ETag"]) == (304, None, tag)
    assert changed.status == 200 and len(changed.body["items"]) == 1
    assert changed.headers["ETag"] != tag


def test_GIVEN_writes_and_errors_WHEN_answered_THEN_they_carry_no_etag(api: Api) -> None:
    created = api.post("/operators", {"name": "Anna"})
    missing = api.get("/operators/op_0000000000000")

    assert created.status == 201 and "ETag" not in created.headers
    assert missing.status == 404 and "ETag" not in missing.headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abd"', False),
    ],
)
def test_GIVEN_if_none_match_forms_WHEN_compared_with_a_tag_THEN_weak_comparison_as_for_a_get(
    header: str | None, expected: bool
) -> None:
    assert matches(header, '"abc"') is expected


def test_GIVEN_two_bodies_WHEN_tagged_THEN_equal_bodies_share_a_tag_and_different_ones_do_not() -> None:
    assert entity_tag('{"a": 1}') == entity_tag(b'{"a": 1}') != entity_tag('{"a": 2}')


# --- scoring status -------------------------------------------------------------------------


def test_GIVEN_no_trained_model_WHEN_reading_the_scoring_status_THEN_rules_answer_and_model_is_null(
    api: Api,
) -> None:
    reply = api.get("/scoring/model")

    assert reply.status == 200
    assert reply.body == {"scorer": "rules", "answering": "rules-v1", "model": None}


def test_GIVEN_a_trained_model_and_scorer_model_WHEN_reading_the_status_THEN_its_version_and_metrics(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.scoring.service import _store

    version = _store("{}", positives=31, negatives=40, auc=0.81, brier=0.17)
    monkeypatch.setenv("SCORER", "model")

    body = api.get("/scoring/model").body

    assert (body["scorer"], body["answering"]) == ("model", f"model-v{version}")
    model = body["model"]
    assert (model["version"], model["model_version"], model["positives"], model["negatives"]) == (
        version,
        f"model-v{version}",
        31,
        40,
    )
    assert (model["holdout_auc"], model["holdout_brier"]) == (0.81, 0.17)


def test_GIVEN_an_operator_WHEN_reading_the_scoring_status_THEN_403(api: Api, dev_keys: DevKeys) -> None:
    anna = api.operator("Anna")

    reply = api.as_(operator_token(dev_keys, anna["id"])).get("/scoring/model")

    assert reply.status == 403


# --- CORS: off by default, one origin when configured ------------------------------------------


def test_GIVEN_the_default_configuration_WHEN_a_browser_asks_from_another_origin_THEN_no_cors_anywhere(
    api: Api,
) -> None:
    from app import app

    reply = api.call("GET", "/health", headers={"Origin": "https://elsewhere.example"})

    assert [path for path, methods in app.routes.items() for entry in methods.values() if entry.cors] == []
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_GIVEN_console_cors_origin_set_WHEN_the_app_loads_THEN_every_route_allows_that_origin_and_its_preflight(
    tmp_path: Any,
) -> None:
    # A fresh interpreter: the policy is read when the routes are declared (it shapes the packaged template).
    script = textwrap.dedent(
        """
        import json, os
        os.environ["CONSOLE_CORS_ORIGIN"] = "https://console.example.com/"
        from chalice.config import Config
        from chalice.local import LocalGateway
        from app import app
        cors = {entry.cors.allow_origin for methods in app.routes.values() for entry in methods.values()}
        gateway = LocalGateway(app, Config(chalice_stage="dev"))
        origin = {"origin": "https://console.example.com"}
        health = gateway.handle_request("GET", "/health", origin, b"")
        preflight = gateway.handle_request(
            "OPTIONS", "/me/appeals", {**origin, "access-control-request-method": "GET"}, b"")
        print(json.dumps({"cors": sorted(cors), "health": health["headers"], "preflight": preflight["headers"]}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["cors"] == ["https://console.example.com"]
    assert seen["health"]["Access-Control-Allow-Origin"] == "https://console.example.com"
    assert "ETag" in seen["health"]["Access-Control-Expose-Headers"]
    preflight = {name.lower(): value for name, value in seen["preflight"].items()}
    assert preflight["access-control-allow-origin"] == "https://console.example.com"
    assert {"Authorization", "If-None-Match"} <= set(preflight["access-control-allow-headers"].split(","))
    assert "GET" in preflight["access-control-allow-methods"].split(",")


# --- the console's own files --------------------------------------------------------------

DIST = Path(__file__).resolve().parents[2] / "chalicelib" / "console_dist"


@pytest.fixture
def http(aws_credentials: None) -> Iterator[Any]:
    """The raw test client: the console's files are not JSON."""
    with Client(app, stage_name="dev") as client:
        yield client.http


@pytest.fixture
def built() -> dict[str, Any]:
    manifest = DIST / "manifest.json"
    if not manifest.exists():
        pytest.skip("the console is not built (`make console`; `make test` builds it)")
    return json.loads(manifest.read_text())


def test_GIVEN_no_token_WHEN_opening_the_console_THEN_its_page_with_revalidation_and_a_strict_policy(
    http: Any, built: dict[str, Any]
) -> None:
    page = http.get("/console/")

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert built["script"] in page.body.decode()
    again = http.get("/console/", headers={"If-None-Match": page.headers["ETag"]})
    assert (again.status_code, again.body) == (304, b"")


def test_GIVEN_no_token_WHEN_fetching_a_hashed_asset_THEN_it_is_cached_for_a_year_with_its_type(
    http: Any, built: dict[str, Any]
) -> None:
    script = http.get(f"/console/{built['script']}")
    style = http.get(f"/console/{built['style']}")

    assert script.status_code == 200 and style.status_code == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert style.headers["Content-Type"] == "text/css; charset=utf-8"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert script.body == (DIST / built["script"]).read_bytes()


def test_GIVEN_the_console_without_its_slash_WHEN_opened_THEN_308_to_the_folder_whatever_the_stage_prefix(
    http: Any,
) -> None:
    reply = http.get("/console")

    assert (reply.status_code, reply.headers["Location"]) == (308, "console/")


def test_GIVEN_a_person_opening_the_apis_address_WHEN_loaded_THEN_302_to_the_console(http: Any) -> None:
    reply = http.get("/")

    assert (reply.status_code, reply.headers["Location"]) == (302, "/console/")


def test_GIVEN_a_name_the_build_does_not_have_WHEN_asked_THEN_404_in_our_error_shape(
    api: Api, built: dict[str, Any]
) -> None:
    for name in ("app.js", "manifest.json", "..%2F..%2Fapp.py", "index.htm"):
        reply = api.as_(None).call("GET", f"/console/{name}")
        assert (reply.status, reply.body["error"]) == (404, "not_found"), name


def test_GIVEN_the_environment_WHEN_reading_the_console_config_THEN_token_sign_in_unless_cognito_is_set(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = api.as_(None)
    assert anonymous.get("/console/config.json").body == {"auth": "token"}

    monkeypatch.setenv("CONSOLE_COGNITO_DOMAIN", "https://leadcrm.auth.eu-central-1.amazoncognito.com/")
    monkeypatch.setenv("CONSOLE_COGNITO_CLIENT_ID", "4r1ex2ample3client")
    config = anonymous.get("/console/config.json")

    assert config.headers["Cache-Control"] == "no-cache"
    assert config.body == {
        "auth": "cognito",
        "cognito": {
            "domain": "https://leadcrm.auth.eu-central-1.amazoncognito.com",
            "client_id": "4r1ex2ample3client",
            "scopes": ["openid", "email", "profile"],
        },
    }
