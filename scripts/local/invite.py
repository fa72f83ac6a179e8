"""Invite someone to the local stack: `make invite EMAIL=anna@example.com ROLE=operator [NAME=Anna]`.

The same flow as in AWS, against the local issuer instead of Cognito: for an
operator it calls the running stack's `POST /operators` with the `email` (as an
admin would from the console), which creates the operator and binds a fresh
login subject to it on the server; for an admin it makes the admin login alone
(admins are not operators). Either way it prints how that person signs in: a
token the local issuer signed for their subject, for the console or curl.

Exit codes: 0 invited, 1 no running stack (or the API refused), 2 bad input.
Nothing is e-mailed locally, and the address is not stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROLES = ("operator", "admin")


def parse(argv: list[str] | None) -> argparse.Namespace | str:
    parser = argparse.ArgumentParser(description="Invite a person to the local stack and print their sign-in token.")
    parser.add_argument("--email", default=os.environ.get("EMAIL") or "")
    parser.add_argument("--role", default=os.environ.get("ROLE") or "operator")
    parser.add_argument("--name", default=os.environ.get("NAME") or "")
    args = parser.parse_args(argv)
    if args.role not in ROLES:
        return f"ROLE must be one of {', '.join(ROLES)}, not {args.role!r}"
    if not args.email:
        return "EMAIL is required: make invite EMAIL=anna@example.com ROLE=operator [NAME=Anna]"
    from chalicelib.schemas.contact import checked_email

    try:
        args.email = checked_email(args.email)
    except ValueError as exc:
        return f"EMAIL {args.email!r} is not an e-mail address ({exc})"
    args.name = args.name.strip() or args.email.split("@", 1)[0]
    return args


def post(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main(argv: list[str] | None = None) -> int:
    from scripts.local.dev_auth import PRIVATE_KEY_FILE, DevKeys
    from scripts.local.local_stack import prepare_environment
    from scripts.local.stack_state import NoStack, running_stack

    args = parse(argv)
    if isinstance(args, str):
        print(args, file=sys.stderr)
        return 2
    prepare_environment()
    try:
        stack = running_stack()
    except NoStack as exc:
        print(exc, file=sys.stderr)
        return 1
    key_directory = Path(stack.jwks_file).parent if stack.jwks_file else None
    if key_directory is None or not (key_directory / PRIVATE_KEY_FILE).exists():
        print("the running stack does not trust the local issuer's keys here: invite through its own", file=sys.stderr)
        return 1
    # The key pair that stack trusts, wherever it was started from.
    keys = DevKeys.load_or_create(key_directory)
    if args.role == "admin":
        subject = f"local-admin-{uuid.uuid4()}"
        who = "admin (every route; not an operator)"
    else:
        try:
            status, body = post(
                f"{stack.api_url}/operators", keys.token("admin"), {"name": args.name, "email": args.email}
            )
        except (urllib.error.URLError, OSError) as exc:
            print(f"the local stack's API at {stack.api_url} is not answering ({exc})", file=sys.stderr)
            return 1
        if status != 201:
            print(f"the API refused the invitation ({status}): {json.dumps(body)}", file=sys.stderr)
            return 2 if status == 422 else 1
        subject = body["auth_subject"]
        who = f"operator {body['id']} ({body['name']})"
    token = keys.token(args.role, subject=subject)
    print(f"invited: {who}, login subject {subject}")
    print(f"sign in: open {stack.api_url}/console/ and paste the token below (valid 12 h; `make token` makes more)")
    print(f"   curl: curl -H 'Authorization: Bearer <token>' {stack.api_url}/me")
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
