"""The line under a new-passphrase field: zxcvbn's estimate as the user types, and a "use it
anyway" box that shows only while the passphrase is too weak (``vault.strength``)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Static

from vault.strength import estimate

INSIST = '"Use it anyway"'
"""How the app's user insists on a weak passphrase (the CLI's --allow-weak-passphrase)."""


class PassphraseStrength(Vertical):
    """zxcvbn's estimate of the passphrase typed above it; ``show`` it on every change."""

    DEFAULT_CSS = """
    PassphraseStrength {
        height: auto;
    }
    PassphraseStrength .strength-line {
        color: $text-muted;
        padding-bottom: 1;
    }
    PassphraseStrength.-weak .strength-line {
        color: $warning;
    }
    PassphraseStrength .strength-anyway {
        display: none;
        margin-bottom: 1;
    }
    PassphraseStrength.-weak .strength-anyway {
        display: block;
    }
    """

    def compose(self) -> ComposeResult:
        """The estimate, and the box to insist on a weak passphrase."""
        yield Static("", classes="strength-line")
        yield Checkbox(
            "Use it anyway: I know it is easy to guess", classes="strength-anyway", compact=True
        )

    def show(self, passphrase: str) -> None:
        """Estimate ``passphrase`` (a few milliseconds) and say how strong it is."""
        line = self.query_one(".strength-line", Static)
        if not passphrase:
            self.remove_class("-weak")
            line.update("")
            return
        strength = estimate(passphrase)
        self.set_class(not strength.strong_enough, "-weak")
        verdict = "good" if strength.strong_enough else "weak"
        advice = f" {strength.advice}" if strength.advice and not strength.strong_enough else ""
        line.update(Text(f"Strength: {verdict}, {strength.describe()}.{advice}"))

    @property
    def allow_weak(self) -> bool:
        """True when the user ticked "use it anyway" for the weak passphrase shown."""
        return self.has_class("-weak") and self.query_one(".strength-anyway", Checkbox).value
