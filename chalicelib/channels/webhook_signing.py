"""Outgoing webhooks' safety: signatures, signing secrets, destination checks and the retry schedule.

Owns, as pure functions (no I/O but an injectable DNS lookup):
- the signature header, Stripe-like: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
  keyed with the subscription's whole secret; verification in constant time,
  refusing timestamps outside a tolerance (replays);
- signing secrets: `whsec_` + 32 random bytes, URL-safe base64;
- destination checks: http(s) only, no credentials in the URL, and no host
  that is or resolves to a loopback, private, link-local, multicast, reserved
  or otherwise non-global address (IPv4 and IPv6, IPv4-mapped/6to4/Teredo/NAT64
  forms, and the decimal, octal, hex and short IPv4 spellings), unless allowed;
- the retry schedule: exponential with jitter, for up to 24 hours after the
  first attempt, carried through SQS in hops of at most 900 seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import random
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "BASE_DELAY_SECONDS",
    "EVENT_ID_HEADER",
    "MAX_DELAY_SECONDS",
    "MAX_SQS_DELAY_SECONDS",
    "RETRY_WINDOW_SECONDS",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_TOLERANCE_SECONDS",
    "Destination",
    "InvalidSignature",
    "MalformedSignatureHeader",
    "RetryPlan",
    "SignatureMismatch",
    "TimestampOutsideTolerance",
    "UnsafeDestination",
    "check_destination",
    "generate_secret",
    "hop_delay",
    "is_public_address",
    "plan_retry",
    "retry_delay",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Leadcrm-Signature"
EVENT_ID_HEADER = "X-Leadcrm-Event-Id"
SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32
TIMESTAMP_TOLERANCE_SECONDS = 300
_SCHEME = "v1"
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# --- signatures ------------------------------------------------------------------------------


class InvalidSignature(ValueError):
    """A delivery whose signature header does not prove it came from us, now."""


class MalformedSignatureHeader(InvalidSignature):
    pass


class SignatureMismatch(InvalidSignature):
    pass


class TimestampOutsideTolerance(InvalidSignature):
    pass


def generate_secret() -> str:
    """A new signing secret, shown to the subscriber once."""
    raw = secrets.token_bytes(_SECRET_BYTES)
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={int(timestamp)},{_SCHEME}={_digest(secret, int(timestamp), _bytes(body))}"


def verify(
    secret: str | Sequence[str],
    header: str | None,
    body: bytes | str,
    now: float,
    tolerance: int = TIMESTAMP_TOLERANCE_SECONDS,
) -> int:
    """Checks a signature header against the raw body; answers its timestamp or raises `InvalidSignature`.

    Several `v1` values (a sender rotating secrets) and several secrets (a
    receiver rotating) are accepted: one match suffices. Every comparison runs
    in constant time, and all candidates are compared, so timing tells nothing.
    """
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise TimestampOutsideTolerance(f"timestamp is more than {tolerance}s away from now")
    keys = [secret] if isinstance(secret, str) else list(secret)
    raw = _bytes(body)
    matched = False
    for key in keys:
        expected = _digest(key, timestamp, raw)
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureMismatch("no signature matches the body")
    return timestamp


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header or len(header) > 4096:
        raise MalformedSignatureHeader("missing signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == _SCHEME and _HEX_SHA256.match(value):
            signatures.append(value)
    if timestamp is None or not signatures:
        raise MalformedSignatureHeader(f"expected t=<unix seconds>,{_SCHEME}=<hex hmac-sha256>")
    return timestamp, signatures


# --- destinations ----------------------------------------------------------------------------


class UnsafeDestination(ValueError):
    """A webhook URL we will not send to; the text says why (fit for a 422's field message)."""


@dataclass(frozen=True)
class Destination:
    """A checked URL and the addresses its host had then.

    A delivery should connect to one of `addresses` (or check again): a name
    that resolved to a public address now may resolve to a private one later.
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


Resolver = Callable[[str, int], Sequence[str]]

# Names that never leave the machine or the local network, whatever DNS says.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_NUMERIC_LABEL = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast; embedded IPv4 (mapped, 6to4, Teredo, NAT64) is checked too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _NAT64_LOCAL:
            return False
        if any(not is_public_address(inner) for inner in embedded):
            return False
        # IPv4-compatible (::a.b.c.d, deprecated) is "reserved" in ipaddress, hence refused below.
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or not address.is_global
    )


def _loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a URL parser or inet_aton reads in `host` ("2130706433", "0177.1", "0x7f.0.0.1"), if any.

    WHATWG URL parsing treats a host whose last label is numeric as IPv4,
    with these spellings; so does glibc. None when the host is a name.
    """
    labels = host.split(".")
    if labels and labels[-1] == "":
        labels = labels[:-1]  # "127.0.0.1." is the same host
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.match(label) for label in labels):
        raise UnsafeDestination("the host looks like an IP address but is not a valid one")
    numbers: list[int] = []
    for label in labels:
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                raise UnsafeDestination("the host looks like an IP address but is not a valid one")
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *leading, last = numbers
    if any(part > 255 for part in leading) or last >= 256 ** (5 - len(numbers)):
        raise UnsafeDestination("the host looks like an IP address but is not a valid one")
    value = last
    for index, part in enumerate(leading):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def check_destination(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> Destination:
    """Accepts `url` as a webhook destination or raises `UnsafeDestination` saying why.

    `allow_private` (a local-use setting) lets loopback and private hosts
    through; the scheme and credential rules hold regardless. `resolve` maps
    (host, port) to addresses (default: the system's DNS); a name that does
    not resolve is refused.
    """
    scheme, host, port = _parse_destination(url)
    literal = _literal_address(host)
    if literal is not None:
        if not allow_private and not is_public_address(literal):
            raise UnsafeDestination("the host is a loopback, private, link-local, multicast or reserved address")
        return Destination(url, scheme, host, port, (str(literal),))
    addresses = _resolved(host.lower(), port, allow_private, resolve or _system_resolver)
    return Destination(url, scheme, host, port, tuple(dict.fromkeys(str(address) for address in addresses)))


def _parse_destination(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of a well-formed http(s) URL without credentials."""
    if len(url) > 2048:
        raise UnsafeDestination("the URL is longer than 2048 characters")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise UnsafeDestination("the URL contains spaces or control characters")
    if "\\" in url:
        # Browsers read a backslash as "/" in http(s) URLs, Python does not: they would see different hosts.
        raise UnsafeDestination("the URL contains a backslash")
    try:
        parts = urlsplit(url)
        port_given = parts.port
    except ValueError:
        raise UnsafeDestination("the URL cannot be parsed (bad port or brackets)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeDestination("only http and https URLs are allowed")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeDestination("credentials in the URL are not allowed; the signature authenticates us")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeDestination("the URL has no host")
    port = port_given if port_given is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise UnsafeDestination("port 0 is not a destination")
    return scheme, host, port


def _resolved(
    name: str, port: int, allow_private: bool, resolve: Resolver
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if not allow_private and (name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES) or "." not in name):
        raise UnsafeDestination("the host is a local name")
    try:
        found = list(resolve(name, port))
    except (OSError, UnicodeError):
        found = []
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for raw in found:
        try:
            addresses.append(ipaddress.ip_address(raw.split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise UnsafeDestination("the host does not resolve")
    if not allow_private and any(not is_public_address(address) for address in addresses):
        raise UnsafeDestination("the host resolves to a loopback, private, link-local, multicast or reserved address")
    return addresses


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if ":" in host:  # urlsplit strips the brackets of an IPv6 literal
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise UnsafeDestination("the host is not a valid IPv6 address") from None
    address = _loose_ipv4(host)
    if address is not None and host.rstrip(".") != str(address):
        # A URL library or proxy may read "0177.0.0.1" differently from us: only dotted decimal is accepted.
        raise UnsafeDestination(f"write the IP address as dotted decimal ({address})")
    return address


# --- the retry schedule ----------------------------------------------------------------------

BASE_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 6 * 3600.0
RETRY_WINDOW_SECONDS = 24 * 3600.0
# SQS's DelaySeconds limit: a longer wait is several hops.
MAX_SQS_DELAY_SECONDS = 900


def retry_delay(failed_attempt: int, *, jitter: float) -> float:
    """Seconds to wait after attempt `failed_attempt` (1-based) failed.

    Exponential (30 s, 60 s, 2 min, ... capped at 6 h), with "equal jitter":
    `jitter` in [0, 1) picks a point in the upper half of the step, so retries
    of many deliveries spread out but never come sooner than half the step.
    """
    if failed_attempt < 1:
        raise ValueError("attempts count from 1")
    step = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2.0 ** min(failed_attempt - 1, 30))
    return step / 2 + step / 2 * min(max(jitter, 0.0), 1.0)


@dataclass(frozen=True)
class RetryPlan:
    """The next attempt: its number and when it is due (unix seconds)."""

    attempt: int
    due_at: float

    def hop_delay(self, now: float) -> int:
        """The SQS DelaySeconds for the next hop towards `due_at`."""
        return hop_delay(self.due_at, now)


def plan_retry(
    failed_attempt: int,
    *,
    first_attempt_at: float,
    now: float,
    rand: Callable[[], float] = random.random,
) -> RetryPlan | None:
    """When to try again after attempt `failed_attempt` failed at `now`; None once the 24-hour window is spent
    (the delivery then goes to the DLQ)."""
    due = now + retry_delay(failed_attempt, jitter=rand())
    if due > first_attempt_at + RETRY_WINDOW_SECONDS:
        return None
    return RetryPlan(attempt=failed_attempt + 1, due_at=due)


def hop_delay(due_at: float, now: float) -> int:
    """SQS DelaySeconds towards `due_at`: at most 900 s; 0 when it is due.

    A message that arrives before its `due_at` is sent again with the next
    hop's delay, without an attempt.
    """
    remaining = due_at - now
    if not math.isfinite(remaining) or remaining <= 0:
        return 0
    return min(MAX_SQS_DELAY_SECONDS, math.ceil(remaining))
