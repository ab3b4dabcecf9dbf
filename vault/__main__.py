"""``python -m vault`` runs the kluis CLI."""

from __future__ import annotations

from vault.cli import main

raise SystemExit(main())
