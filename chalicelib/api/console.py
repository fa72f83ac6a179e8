"""The web console at `/console/`: its static files, its sign-in settings, and
the CORS switch for a console hosted elsewhere.

`make` builds the console (npm + esbuild, `console/build.mjs`) into
`chalicelib/console_dist/`, which `chalice package` bundles with the rest of
`chalicelib/`. The build is flat, one path segment per file: `chalice local`
and the test client match a route parameter to exactly one segment (they know
no greedy `{proxy+}`), and so does API Gateway for `/console/{file}`, so the
same route serves everywhere. Every asset is text (JS, CSS, SVG, JSON), so
nothing needs API Gateway's binary media types.

Hashed files (`app-3F2A….js`) never change under their name and are cached
for a year; `index.html` and `config.json` are revalidated on every load
(`no-cache`, with the ETag that `chalicelib.api.conditional` adds).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from chalice.app import Blueprint, CORSConfig, Response

from chalicelib.api.http import endpoint
from chalicelib.core.errors import NotFound

bp = Blueprint(__name__)

DIST = Path(__file__).resolve().parent.parent / "console_dist"
INDEX = "index.html"
CONFIG = "config.json"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@bp.route("/", methods=["GET"])
@endpoint
def root() -> Response:
    # A person opening the API's address gets the console, not API Gateway's "Missing Authentication Token".
    path = str((bp.current_request.context or {}).get("path") or "/")  # "/", or "/api/" behind a stage
    return Response(body="", status_code=302, headers={"Location": path.rstrip("/") + "/console/"})


@bp.route("/console", methods=["GET"])
@endpoint
def console_index() -> Response:
    path = str((bp.current_request.context or {}).get("path") or "/console")
    if not path.endswith("/"):
        # The page's asset URLs are relative, so it must be read as a folder: /console/ (or /api/console/).
        return Response(body="", status_code=308, headers={"Location": path.rsplit("/", 1)[-1] + "/"})
    return _asset(INDEX)


@bp.route("/console/{file}", methods=["GET"])
@endpoint
def console_file(file: str) -> Response:
    if file == CONFIG:
        body = json.dumps(console_config())
        return Response(body=body, status_code=200, headers={"Content-Type": "application/json", **_cache(CONFIG)})
    return _asset(file)


def console_config() -> dict[str, object]:
    """How the console signs people in, from the environment (read per request).

    With `CONSOLE_COGNITO_DOMAIN` (the hosted UI, `https://<prefix>.auth.<region>.amazoncognito.com`)
    and `CONSOLE_COGNITO_CLIENT_ID` (an app client with the authorization-code grant and PKCE)
    it sends people to Cognito; without them it asks for a token (`make token`)."""
    domain = (os.environ.get("CONSOLE_COGNITO_DOMAIN") or "").strip().rstrip("/")
    client_id = (os.environ.get("CONSOLE_COGNITO_CLIENT_ID") or "").strip()
    if not (domain and client_id):
        return {"auth": "token"}
    scopes = (os.environ.get("CONSOLE_COGNITO_SCOPES") or "openid email profile").split()
    return {"auth": "cognito", "cognito": {"domain": domain, "client_id": client_id, "scopes": scopes}}


def cors_policy() -> CORSConfig | None:
    """CORS for a console served from another origin: off unless `CONSOLE_CORS_ORIGIN` names that origin.

    Read when the routes are declared, not per request: API Gateway answers the
    browser's preflight itself, from OPTIONS methods that `chalice package`
    writes into the template only for routes that have CORS. Set it in the
    stage's `environment_variables` (.chalice/config.json), so the packaged
    template and the running functions agree."""
    origin = (os.environ.get("CONSOLE_CORS_ORIGIN") or "").strip().rstrip("/")
    if not origin:
        return None
    return CORSConfig(
        allow_origin=origin,
        allow_headers=["If-None-Match"],
        expose_headers=["ETag", "Retry-After"],
        max_age=600,
    )


def _manifest() -> dict[str, str]:
    """{file name: content type} of the build in place (a rebuild under `make run` is picked up)."""
    try:
        stamp = (DIST / "manifest.json").stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    return _read_manifest(stamp)


@functools.lru_cache(maxsize=1)
def _read_manifest(stamp: int) -> dict[str, str]:
    return dict(json.loads((DIST / "manifest.json").read_text())["files"])


@functools.lru_cache(maxsize=64)
def _read(name: str, stamp: int) -> str:
    return (DIST / name).read_text(encoding="utf-8")


def _asset(name: str) -> Response:
    manifest = _manifest()
    if not manifest:
        raise NotFound("the console is not built here: `make run`, `make test` and `make package` build it")
    content_type = manifest.get(name)
    if content_type is None:
        raise NotFound(f"no console file named {name[:64]!r}")
    headers: dict[str, str | list[str]] = {"Content-Type": content_type, **_cache(name), **_SECURITY}
    if name == INDEX:
        headers["Content-Security-Policy"] = _content_security_policy()
    stamp = (DIST / "manifest.json").stat().st_mtime_ns
    return Response(body=_read(name, stamp), status_code=200, headers=headers)


def _cache(name: str) -> dict[str, str]:
    # The build names every file but these after a hash of its content.
    return {"Cache-Control": REVALIDATE if name in (INDEX, CONFIG, "favicon.svg") else IMMUTABLE}


def _content_security_policy() -> str:
    config = console_config()
    cognito = config.get("cognito")
    token_endpoint = f" {cognito['domain']}" if isinstance(cognito, dict) else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{token_endpoint}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
