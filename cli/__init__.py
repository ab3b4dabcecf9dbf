"""The ``kluis`` command line: one face of the core, beside the terminal app (``tui``).

It parses arguments (``cli.main``), runs each command with plain values through the core's
services (``cli.commands``, ``cli.share``, ``cli.sync``), prints what they return
(``cli.render``) and starts the app (``cli.launch``, the one place that imports ``tui``).
"""
