"""kluis's core: the encrypted vault, its data model, company resolution, ingest and queries.

Importing this package is cheap and loads no UI, importer or exporter code.
"""

from __future__ import annotations

__version__ = "0.1.0"
