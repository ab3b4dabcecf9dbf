"""``python -m vault`` runs the kluis command line, as DESIGN's CLI contract promises.

This entry point is never imported by ``import vault``: it hands the process over to the
command line, which lives beside the core in ``cli/`` (the core imports no face).
"""

from __future__ import annotations

import runpy

runpy.run_module("cli", run_name="__main__", alter_sys=True)
