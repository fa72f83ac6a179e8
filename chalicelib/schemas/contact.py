"""Contact details and people's identifiers, checked at the edge.

Phones are normalised to E.164 with `phonenumbers` (imported when a phone is
first checked, not at cold start); e-mails are checked for syntax with
`email-validator` (no DNS lookups); names refuse control characters; external
ids keep to a documented character set.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

PHONE_MAX_LENGTH = 32
EMAIL_MAX_LENGTH = 254
EXTERNAL_ID_MAX_LENGTH = 200
# Channel prefix and the channel's own id: `tg:123456`, `wa:+79990001122`,
# `web:ivan@example.com`, `crm-42`. Letters, digits and `. _ : @ + -`.
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:@+\-]+$"


def to_e164(value: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number in international form; start with + and the country code") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number for its country code")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalised_phone(value: str | None) -> str | None:
    """E.164, or None when the value is not a usable phone (for channels that
    pass along whatever a user typed, where a bad phone must not cost the message)."""
    if not value or len(value) > PHONE_MAX_LENGTH:
        return None
    candidate = value.strip()
    if candidate and candidate[0].isdigit():
        candidate = f"+{candidate}"  # Telegram shares contacts without the plus
    try:
        return to_e164(candidate)
    except ValueError:
        return None


_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def without_control_characters(value: str) -> str:
    """For names a channel passes along as users typed them: drop what a
    name may not hold (control and format characters) rather than lose the message."""
    kept = value.translate(_CONTROL)
    return "".join(ch for ch in kept if unicodedata.category(ch) not in ("Cf", "Zl", "Zp"))


def checked_email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=PHONE_MAX_LENGTH),
    AfterValidator(to_e164),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=EMAIL_MAX_LENGTH),
    AfterValidator(checked_email),
]
ExternalId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=EXTERNAL_ID_MAX_LENGTH, pattern=EXTERNAL_ID_PATTERN
    ),
]
