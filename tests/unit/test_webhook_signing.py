"""Outgoing webhooks' signatures, destination checks and retry schedule, as data (no network, no DNS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.channels import webhook_signing as ws

if TYPE_CHECKING:
    from collections.abc import Sequence

SECRET = "whsec_test-secret-not-for-production"
NOW = 1_760_000_000
BODY = b'{"id":"ev_1","type":"appeal.assigned","data":{"appeal_id":"ap_1"}}'


# --- secrets -----------------------------------------------------------------------------------


def test_GIVEN_two_new_secrets_WHEN_generated_THEN_each_is_whsec_and_32_random_bytes_urlsafe() -> None:
    first, second = ws.generate_secret(), ws.generate_secret()

    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        raw = base64.urlsafe_b64decode(secret.removeprefix("whsec_") + "=")
        assert len(raw) == 32


# --- sign / verify -----------------------------------------------------------------------------


def test_GIVEN_a_body_WHEN_signed_THEN_the_header_is_t_and_v1_hmac_sha256_of_t_dot_body() -> None:
    header = ws.sign(SECRET, NOW, BODY)

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"


def test_GIVEN_a_signed_body_WHEN_verified_within_tolerance_THEN_its_timestamp_is_answered() -> None:
    header = ws.sign(SECRET, NOW, BODY)

    assert ws.verify(SECRET, header, BODY, now=NOW + 299) == NOW
    assert ws.verify(SECRET, header, BODY.decode(), now=NOW - 299) == NOW


@pytest.mark.parametrize("now", [NOW + 301, NOW - 301, NOW + 86_400])
def test_GIVEN_a_signature_outside_the_tolerance_WHEN_verified_THEN_refused_as_a_replay(now: int) -> None:
    with pytest.raises(ws.TimestampOutsideTolerance):
        ws.verify(SECRET, ws.sign(SECRET, NOW, BODY), BODY, now=now)


@pytest.mark.parametrize(
    ("secret", "body"),
    [
        ("whsec_other", BODY),
        (SECRET, BODY + b" "),
        (SECRET, BODY.replace(b"ap_1", b"ap_2")),
    ],
)
def test_GIVEN_another_secret_or_a_changed_body_WHEN_verified_THEN_mismatch(secret: str, body: bytes) -> None:
    with pytest.raises(ws.SignatureMismatch):
        ws.verify(secret, ws.sign(SECRET, NOW, BODY), body, now=NOW)


def test_GIVEN_a_changed_timestamp_WHEN_verified_THEN_mismatch_because_the_timestamp_is_signed() -> None:
    signature = ws.sign(SECRET, NOW, BODY).split(",")[1]

    with pytest.raises(ws.SignatureMismatch):
        ws.verify(SECRET, f"t={NOW + 10},{signature}", BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"t={NOW}", "v1=" + "a" * 64, f"t=abc,v1={'a' * 64}", f"t={NOW},v1=short", f"t={NOW},v0=x"],
)
def test_GIVEN_a_malformed_header_WHEN_verified_THEN_refused_as_malformed(header: str | None) -> None:
    with pytest.raises(ws.MalformedSignatureHeader):
        ws.verify(SECRET, header, BODY, now=NOW)


def test_GIVEN_rotation_on_either_side_WHEN_verified_THEN_any_one_match_is_enough() -> None:
    old, new = "whsec_old", "whsec_new"
    both = f"{ws.sign(new, NOW, BODY)},v1={ws.sign(old, NOW, BODY).split('v1=')[1]}"

    assert ws.verify(old, both, BODY, now=NOW) == NOW
    assert ws.verify([new, old], ws.sign(old, NOW, BODY), BODY, now=NOW) == NOW
    with pytest.raises(ws.SignatureMismatch):
        ws.verify(["whsec_x", "whsec_y"], both, BODY, now=NOW)


@settings(deadline=None)
@given(secret=st.text(min_size=1, max_size=40), body=st.binary(max_size=300), skew=st.integers(-300, 300))
def test_GIVEN_any_secret_and_body_WHEN_signed_then_verified_THEN_it_verifies(
    secret: str, body: bytes, skew: int
) -> None:
    assert ws.verify(secret, ws.sign(secret, NOW, body), body, now=NOW + skew) == NOW


# --- destinations ------------------------------------------------------------------------------


def resolver(table: dict[str, Sequence[str]]) -> ws.Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


PUBLIC_DNS = resolver({"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})


def test_GIVEN_a_public_https_url_WHEN_checked_THEN_accepted_with_its_addresses() -> None:
    destination = ws.check_destination("https://hooks.example.com/crm?x=1", allow_private=False, resolve=PUBLIC_DNS)

    assert (destination.scheme, destination.host, destination.port) == ("https", "hooks.example.com", 443)
    assert destination.addresses == ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://hooks.example.com/", "only http and https"),
        ("hooks.example.com/path", "only http and https"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "cannot be parsed"),
        ("https:///path", "no host"),
        ("https://hooks.example.com\\@evil.example/", "backslash"),
        ("https://hooks.example .com/", "spaces or control"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "spaces or control"),
    ],
)
def test_GIVEN_a_url_of_the_wrong_shape_WHEN_checked_even_with_private_allowed_THEN_refused(url: str, why: str) -> None:
    with pytest.raises(ws.UnsafeDestination, match=why):
        ws.check_destination(url, allow_private=True, resolve=PUBLIC_DNS)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fe80::1%25eth0]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::ffff:10.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:c0a8:0101::1]",  # 6to4 of 192.168.1.1
        "[::127.0.0.1]",  # IPv4-compatible, deprecated
    ],
)
def test_GIVEN_a_non_public_ip_literal_WHEN_checked_THEN_refused_unless_private_is_allowed(host: str) -> None:
    url = f"http://{host}:8080/hook"

    with pytest.raises(ws.UnsafeDestination):
        ws.check_destination(url, allow_private=False, resolve=resolver({}))
    assert ws.check_destination(url, allow_private=True, resolve=resolver({})).port == 8080


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        ("2130706433", "127.0.0.1"),  # decimal
        ("017700000001", "127.0.0.1"),  # octal
        ("0x7f000001", "127.0.0.1"),  # hex
        ("0177.0.0.1", "127.0.0.1"),  # octal part
        ("0x7f.1", "127.0.0.1"),  # short, hex
        ("127.1", "127.0.0.1"),  # short
        ("10.1", "10.0.0.1"),
        ("3232235777", "192.168.1.1"),
        ("0", "0.0.0.0"),
        ("1572395042", "93.184.216.34"),  # a public address, spelled so URL parsers disagree
    ],
)
def test_GIVEN_an_ip_in_a_tricky_spelling_WHEN_checked_THEN_refused_whatever_it_means(host: str, meant: str) -> None:
    with pytest.raises(ws.UnsafeDestination, match=f"dotted decimal \\({meant}\\)"):
        ws.check_destination(f"http://{host}/", allow_private=True, resolve=resolver({}))


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1.2.3.4294967296", "0x1.0x1.0x1.0x100"])
def test_GIVEN_an_invalid_ip_looking_host_WHEN_checked_THEN_refused(host: str) -> None:
    with pytest.raises(ws.UnsafeDestination, match="not a valid one"):
        ws.check_destination(f"http://{host}/", allow_private=True, resolve=resolver({}))


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "api.localhost", "printer.local", "db.internal", "intranet"]
)
def test_GIVEN_a_local_name_WHEN_checked_THEN_refused_without_asking_dns(host: str) -> None:
    asked: list[str] = []

    def spy(name: str, port: int) -> Sequence[str]:
        asked.append(name)
        return ["93.184.215.14"]

    with pytest.raises(ws.UnsafeDestination, match="local name"):
        ws.check_destination(f"https://{host}/", allow_private=False, resolve=spy)
    assert asked == []


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["93.184.215.14", "10.0.0.1"], ["::1"], ["::ffff:192.168.0.1"], ["fe80::1%eth0"]],
)
def test_GIVEN_a_name_resolving_to_any_private_address_WHEN_checked_THEN_refused(addresses: list[str]) -> None:
    with pytest.raises(ws.UnsafeDestination, match="resolves to"):
        ws.check_destination(
            "https://rebind.example.com/", allow_private=False, resolve=resolver({"rebind.example.com": addresses})
        )


def test_GIVEN_a_name_that_does_not_resolve_WHEN_checked_THEN_refused() -> None:
    with pytest.raises(ws.UnsafeDestination, match="does not resolve"):
        ws.check_destination("https://nowhere.example.com/", allow_private=False, resolve=resolver({}))


def test_GIVEN_private_allowed_WHEN_a_loopback_receiver_is_checked_THEN_accepted_for_local_use() -> None:
    destination = ws.check_destination(
        "http://localhost:8123/hook", allow_private=True, resolve=resolver({"localhost": ["127.0.0.1", "::1"]})
    )

    assert destination.addresses == ("127.0.0.1", "::1") and destination.port == 8123


# --- the retry schedule ------------------------------------------------------------------------


def test_GIVEN_successive_failures_WHEN_delays_are_computed_THEN_they_double_within_the_jitter_band_up_to_6h() -> None:
    low = [ws.retry_delay(n, jitter=0.0) for n in range(1, 13)]
    high = [ws.retry_delay(n, jitter=0.999999) for n in range(1, 13)]

    assert low[:4] == [15, 30, 60, 120]
    assert [round(h) for h in high[:4]] == [30, 60, 120, 240]
    assert all(later >= earlier for earlier, later in itertools.pairwise(low))
    assert max(high) <= ws.MAX_DELAY_SECONDS
    assert low[-1] == ws.MAX_DELAY_SECONDS / 2


@settings(deadline=None)
@given(jitters=st.lists(st.floats(0, 1, exclude_max=True), min_size=40, max_size=40))
def test_GIVEN_any_jitter_WHEN_retrying_until_given_up_THEN_every_attempt_is_within_24h_and_it_ends(
    jitters: list[float],
) -> None:
    draws = iter(jitters)
    first = now = 1_000_000.0
    attempt = 1
    while (plan := ws.plan_retry(attempt, first_attempt_at=first, now=now, rand=lambda: next(draws))) is not None:
        assert plan.attempt == attempt + 1 and plan.due_at > now
        now, attempt = plan.due_at, plan.attempt

    assert now - first <= ws.RETRY_WINDOW_SECONDS
    assert 8 <= attempt <= 20


def test_GIVEN_a_retry_due_in_two_hours_WHEN_carried_by_sqs_THEN_hops_of_at_most_900s_reach_it_exactly() -> None:
    plan = ws.RetryPlan(attempt=5, due_at=10_000.0 + 7_200.5)
    now = 10_000.0
    hops = []
    while (delay := plan.hop_delay(now)) > 0:
        hops.append(delay)
        now += delay

    assert hops == [900] * 8 + [1]
    assert now >= plan.due_at


@pytest.mark.parametrize(("due", "now", "delay"), [(100.0, 100.0, 0), (100.0, 200.0, 0), (100.2, 100.0, 1)])
def test_GIVEN_a_due_time_WHEN_asking_for_the_hop_THEN_zero_once_due_else_rounded_up(
    due: float, now: float, delay: int
) -> None:
    assert ws.hop_delay(due, now) == delay


def test_GIVEN_attempt_zero_WHEN_asking_for_a_delay_THEN_refused() -> None:
    with pytest.raises(ValueError, match="from 1"):
        ws.retry_delay(0, jitter=0.5)
