"""``python -m cli`` runs the kluis command line."""

from __future__ import annotations

from cli.main import main

raise SystemExit(main())
