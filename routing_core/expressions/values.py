"""Reading what people type: numbers, e-mail addresses, phone numbers, dates.

Shared by answer validation (message_wait) and conditions (values_test), so a value a
question accepts is one a test recognises.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import regex

MAX_INPUT = 2_000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,63}$")
_PHONE_NOISE = re.compile(r"[\s().\-/]")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def parse_number(text: object) -> float | int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return text
    cleaned = str(text).strip().replace(" ", "").replace(",", ".")[:64]
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return (
        int(number)
        if number.is_integer() and "." not in cleaned and "e" not in cleaned.lower()
        else number
    )


def is_email(text: object) -> bool:
    return bool(_EMAIL.match(str(text).strip()[:MAX_INPUT]))


def normalise_phone(text: object) -> str | None:
    """E.164 (``+`` and 8 to 15 digits) from what people type; ``00`` counts as ``+``."""
    raw = _PHONE_NOISE.sub("", str(text).strip())[:32]
    if raw.startswith("whatsapp:"):
        raw = raw.removeprefix("whatsapp:")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return None
    return "+" + digits


def parse_date(text: object) -> date | None:
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    cleaned = str(text).strip()[:32]
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(cleaned).date()
    except ValueError:
        return None


REGEX_SECONDS = 0.05
MAX_PATTERN = 500  # as for patterns in action parameters; these come from templates


class RegexTimeout(Exception):
    """A regular expression took too long on this input (catastrophic backtracking)."""


def bounded_match(pattern: str, text: str, *, full: bool = False) -> bool:
    """Match with a time limit: an author's pattern must not stall the worker."""
    if len(pattern) > MAX_PATTERN:  # compiling is not covered by the time limit
        raise RegexTimeout(f"the regular expression is longer than {MAX_PATTERN} characters")
    try:
        matcher = regex.fullmatch if full else regex.search
        return matcher(pattern, text[:MAX_INPUT], timeout=REGEX_SECONDS) is not None
    except TimeoutError:
        raise RegexTimeout(f"the regular expression {pattern!r} took too long") from None
    except (regex.error, RecursionError) as error:
        raise RegexTimeout(f"the regular expression {pattern!r} is invalid: {error}") from None
