"""How hard a new passphrase is to guess, estimated with zxcvbn.

The vault's only protection against someone who copies it is Argon2id against offline
guessing, so a new passphrase must reach zxcvbn score 3: at least 10^8 guesses, hours of an
attacker's cluster trying 10,000 passphrases a second (zxcvbn's "offline, slow hash"; our
Argon2id at 64 MiB is slower still per guess). A weaker one is refused unless the user insists
(``--allow-weak-passphrase``, the app's "use it anyway").
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SCORE = 3
MAX_ESTIMATED_CHARS = 72
"""zxcvbn refuses longer input; the estimate of a prefix is a lower bound for the whole."""

_CONTEXT = ["kluis"]  # a passphrase built on the app's name is easier to guess


@dataclass(frozen=True, slots=True)
class Strength:
    """zxcvbn's estimate of one passphrase."""

    score: int
    """0 (guessed at once) to 4 (centuries); ``MIN_SCORE`` and up is strong enough."""
    crack_time: str
    """How long guessing takes offline at 10,000 a second: "3 hours", "centuries"."""
    advice: str
    """zxcvbn's warning or first suggestion, "" when it has none."""

    @property
    def strong_enough(self) -> bool:
        """True when the passphrase may be used without insisting."""
        return self.score >= MIN_SCORE

    def describe(self) -> str:
        """The estimate in words: ``guessed in 3 hours offline (zxcvbn score 2 of 4)``."""
        return f"guessed in {self.crack_time} offline (zxcvbn score {self.score} of 4)"


def estimate(passphrase: str) -> Strength:
    """zxcvbn's estimate for ``passphrase`` (its first 72 characters; a few milliseconds)."""
    from zxcvbn import zxcvbn  # deferred: its word lists cost start-up time

    result = zxcvbn(passphrase[:MAX_ESTIMATED_CHARS], user_inputs=_CONTEXT)
    feedback = result["feedback"]
    advice = feedback["warning"] or next(iter(feedback["suggestions"]), "")
    return Strength(
        score=int(result["score"]),
        crack_time=str(result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]),
        advice=str(advice),
    )
