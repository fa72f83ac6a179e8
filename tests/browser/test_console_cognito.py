"""Signing in through Cognito's hosted UI (authorization code + PKCE), against a fake
Cognito on loopback that checks what the real one checks: the client, the redirect
URI, and that the code verifier hashes to the challenge. The token never enters a URL."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from scripts.local.dynamodb_local import HOST
from scripts.local.ephemeral_stack import RunningStack, ephemeral_stack
from tests.browser.conftest import AXE, Api, Console, _why_skipped, unique

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scripts.local.dev_auth import DevKeys

CLIENT_ID = "console-client-1"


@dataclass
class FakeCognito:
    """The hosted UI's /oauth2/authorize, /oauth2/token and /logout."""

    keys: DevKeys
    operator_id: str = ""
    authorizations: list[dict[str, str]] = field(default_factory=list)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def domain(self) -> str:
        assert self.server is not None
        return f"http://{HOST}:{self.server.server_address[1]}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/oauth2/authorize":
                    fake.authorizations.append(query)
                    code = secrets.token_urlsafe(16)
                    query["code"] = code
                    target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                elif url.path == "/logout":
                    fake.logouts.append(query)
                    self.send_response(302)
                    self.send_header("Location", query["logout_uri"])
                else:
                    self.send_response(404)
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                fake.exchanges.append(form)
                asked = next((a for a in fake.authorizations if a.get("code") == form.get("code")), None)
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                good = (
                    self.path == "/oauth2/token"
                    and asked is not None
                    and form.get("grant_type") == "authorization_code"
                    and form.get("client_id") == CLIENT_ID
                    and form.get("redirect_uri") == asked["redirect_uri"]
                    and asked["code_challenge"] == challenge
                )
                if good:
                    token = fake.keys.token("operator", fake.operator_id, subject=f"dev-operator-{fake.operator_id}")
                    fake.issued.append(token)
                    reply = {"id_token": token, "access_token": "opaque", "token_type": "Bearer", "expires_in": 3600}
                    self.send_response(200)
                else:
                    reply = {"error": "invalid_grant"}
                    self.send_response(400)
                payload = json.dumps(reply).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(scope="module")
def cognito_stack(browser_keys: DevKeys) -> Iterator[tuple[RunningStack, FakeCognito]]:
    reason = _why_skipped()
    if reason:
        pytest.skip(f"browser tier SKIPPED: {reason}")
    fake = FakeCognito(browser_keys)
    fake.start()
    try:
        environment = {"CONSOLE_COGNITO_DOMAIN": fake.domain, "CONSOLE_COGNITO_CLIENT_ID": CLIENT_ID}
        with ephemeral_stack(browser_keys, environment) as running:
            yield running, fake
    finally:
        fake.stop()


def test_GIVEN_cognito_WHEN_an_operator_signs_in_through_the_hosted_ui_THEN_pkce_gets_the_token_and_no_url_holds_it(
    browser: Any, cognito_stack: tuple[RunningStack, FakeCognito]
) -> None:
    stack, fake = cognito_stack
    admin = Api(stack.base_url, stack.token("admin"))
    operator = admin.ok("POST", "/operators", {"name": unique("Sofia")})
    fake.operator_id = operator["id"]
    stack.bind(operator["id"])  # the admin binds the person's Cognito `sub` to the operator
    config = admin.session.get(f"{stack.console_url}config.json", timeout=10).json()
    assert config == {
        "auth": "cognito",
        "cognito": {"domain": fake.domain, "client_id": CLIENT_ID, "scopes": ["openid", "email", "profile"]},
    }
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    console = Console(stack, context, page, "cognito")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        page.goto(stack.console_url)
        expect(page.get_by_label("Token")).to_have_count(0)
        page.get_by_role("button", name="Sign in with your company account").click()
        console.signed_in()

        expect(page.get_by_role("heading", name="My inbox", level=1)).to_be_visible()
        (asked,) = fake.authorizations
        assert (asked["response_type"], asked["client_id"], asked["code_challenge_method"]) == (
            "code",
            CLIENT_ID,
            "S256",
        )
        assert asked["redirect_uri"] == stack.console_url
        assert asked["scope"] == "openid email profile"
        (exchange,) = fake.exchanges
        assert exchange["code_verifier"] and exchange["code_verifier"] not in " ".join(urls)
        (token,) = fake.issued
        assert page.evaluate("() => sessionStorage.getItem('leadcrm.token')") == token
        assert not any(token in url for url in urls)
        # The code is gone from the address bar once traded.
        assert "code=" not in page.url and "state=" not in page.url
        assert console.axe() == []

        # Signing out ends the hosted UI's session too, and comes back to the sign-in page.
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in with your company account")).to_be_visible()
        (logout,) = fake.logouts
        assert (logout["client_id"], logout["logout_uri"]) == (CLIENT_ID, stack.console_url)
        assert page.evaluate("() => sessionStorage.getItem('leadcrm.token')") is None
    finally:
        context.close()


def test_GIVEN_cognito_WHEN_the_console_page_is_served_THEN_its_policy_lets_it_reach_only_itself_and_that_domain(
    cognito_stack: tuple[RunningStack, FakeCognito],
) -> None:
    stack, fake = cognito_stack

    policy = Api(stack.base_url, "").session.get(stack.console_url, timeout=10).headers["Content-Security-Policy"]

    assert f"connect-src 'self' {fake.domain}" in policy
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
