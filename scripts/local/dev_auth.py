"""The local stand-in for Cognito: a key pair on disk and a token minter.

`make run` creates the pair under `.data/auth/` once and points the app at the
public half (JWT_JWKS_FILE); `make token ROLE=admin|operator [OPERATOR_ID=...]`
prints a token signed with the private half. For an operator it first binds
the token's `sub` to that operator in the running stack's operators table
(what an admin does in AWS with `PATCH /operators/{id}` `auth_subject`), and
refuses an operator that does not exist. Tests make their own pair. The
app verifies these tokens with exactly the code it uses for Cognito's.

Never used in AWS: the private key exists only on a developer's disk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://auth.leadcrm.local/dev"
AUDIENCE = "leadcrm-local"
KEY_ID = "leadcrm-dev-1"
PRIVATE_KEY_FILE = "dev-jwt-private.pem"
JWKS_FILE = "dev-jwks.json"
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / ".data" / "auth"


@dataclass(frozen=True)
class DevKeys:
    directory: Path
    private_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, directory: Path = DEFAULT_DIRECTORY) -> DevKeys:
        private_path = directory / PRIVATE_KEY_FILE
        if private_path.exists():
            key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            keys = cls(directory, key)
        else:
            keys = cls(directory, rsa.generate_private_key(public_exponent=65537, key_size=2048))
            directory.mkdir(parents=True, exist_ok=True)
            private_path.write_bytes(
                keys.private_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            private_path.chmod(0o600)
        keys.jwks_path.write_text(json.dumps(keys.jwks(), indent=2))
        return keys

    @property
    def jwks_path(self) -> Path:
        return self.directory / JWKS_FILE

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def environment(self) -> dict[str, str]:
        """The variables that make the app trust these keys (and only these)."""
        return {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWT_JWKS_FILE": str(self.jwks_path)}

    def token(
        self,
        role: str,
        operator_id: str | None = None,
        *,
        expires_in: int = 12 * 3600,
        subject: str | None = None,
        **claims: Any,
    ) -> str:
        """A Cognito-shaped ID token: the role as a group, the operator as a custom attribute."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject or f"dev-{role}-{uuid.uuid4().hex[:8]}",
            "token_use": "id",
            "iat": now,
            "exp": now + expires_in,
            "cognito:groups": [role],
        }
        if operator_id:
            payload["custom:operator_id"] = operator_id
        payload.update(claims)
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": KEY_ID})


def bind_on_local_stack(operator_id: str) -> str | None:
    """Binds a dev subject to the operator in `make run`'s database; the subject, or None when
    there is no such operator (or the stack is not reachable: the reason goes to stderr)."""
    from scripts.local.local_stack import dynamodb_endpoint, prepare_environment
    from scripts.local.run_job import reachability_problem

    prepare_environment()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint()
    problem = reachability_problem(os.environ["AWS_ENDPOINT_URL_DYNAMODB"], os.environ["TABLE_PREFIX"])
    if problem:
        print(problem, file=sys.stderr)
        return None
    subject = f"dev-operator-{operator_id}"
    # The app logs to stdout, and stdout is the token (`$(make -s token)`): its log lines go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        from chalicelib.core.errors import NotFound
        from chalicelib.directory.operators import update_operator
        from chalicelib.schemas.operators import OperatorPatch

        try:
            update_operator(operator_id, OperatorPatch(auth_subject=subject))
        except NotFound:
            print(f"no operator {operator_id!r} on the local stack: create it first (POST /operators)")
            return None
    return subject


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a dev-stack bearer token (never valid in AWS).")
    parser.add_argument("--role", choices=["admin", "operator"], default=os.environ.get("ROLE") or "admin")
    parser.add_argument("--operator-id", default=os.environ.get("OPERATOR_ID") or None)
    parser.add_argument("--hours", type=float, default=12.0)
    args = parser.parse_args(argv)
    subject = None
    if args.role == "operator":
        if not args.operator_id:
            print("an operator token needs OPERATOR_ID=<operator id>", file=sys.stderr)
            return 2
        subject = bind_on_local_stack(args.operator_id)
        if subject is None:
            return 1
    keys = DevKeys.load_or_create()
    print(keys.token(args.role, expires_in=int(args.hours * 3600), subject=subject))
    return 0


if __name__ == "__main__":
    sys.exit(main())
