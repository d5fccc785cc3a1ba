"""What a password must be: long enough, and not one an attacker tries first.

Length alone lets ``password1234`` through, and a fixed list of rules (a digit, a capital)
pushes people to ``P@ssw0rd1``. zxcvbn estimates how many guesses a password takes, with
the lists attackers use (common passwords, names, words, keyboard walks, dates, leet
substitutions) and the user's own e-mail; a password must need more than 10^8 guesses
(its score 3 of 4, "safely unguessable" online with our login throttling). The refusal
is one sentence with zxcvbn's own advice.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from routing_core.infra.errors import Invalid, Words

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
MIN_SCORE = 3
# zxcvbn's run time grows with the length; beyond this the policy judges the first part only
JUDGED_LENGTH = 100


def check_password(password: str, *, email: str | None = None) -> None:
    """Raise ``Invalid`` (on the field ``password``) for a password that is too short or
    easy to guess; the e-mail's words count as known to an attacker."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(Words(
            "the password must have at least %(min_password_length)s characters",
            min_password_length=MIN_PASSWORD_LENGTH),
                      field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(Words(
            "the password must have at most %(max_password_length)s characters",
            max_password_length=MAX_PASSWORD_LENGTH),
                      field="password")
    known = [part for part in (email or "").replace("@", " ").replace(".", " ").split()
             if len(part) > 2] + ([email] if email else [])
    verdict = zxcvbn(password[:JUDGED_LENGTH], user_inputs=known)
    if verdict["score"] >= MIN_SCORE:
        return
    feedback = verdict.get("feedback") or {}
    advice = " ".join(filter(None, [feedback.get("warning") or "",
                                    *(feedback.get("suggestions") or [])]))
    raise Invalid("this password is too easy to guess"
                  + (f": {advice}" if advice else ": add another word or two"),
                  field="password")
