"""A real freedesktop Secret Service: gnome-keyring on a private session bus, so ``kluis
remember`` stores the key where a Linux desktop keeps it and the remembered-key unlock runs the
path users have. Used by the remembered-key tests and the start-up benchmark.

Needs ``dbus-daemon`` and ``gnome-keyring-daemon`` (``apt-get install gnome-keyring``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

_PROBE = "import secretstorage as s; exit(not s.check_service_availability(s.dbus_init()))"


def available() -> bool:
    """Whether this machine can run one."""
    return bool(shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon"))


def _stopped(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=10)


@contextmanager
def running(home: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``env`` plus a session bus whose unlocked gnome-keyring keeps its data under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    env = {**env, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "run")}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    with ExitStack() as stack:
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        stack.callback(_stopped, bus)
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        stack.callback(_stopped, keyring)
        assert keyring.stdin is not None
        keyring.stdin.write(b"login keyring password")
        keyring.stdin.close()
        deadline = time.monotonic() + 20
        while subprocess.run([sys.executable, "-c", _PROBE], env=env, check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("gnome-keyring did not come up on the private bus")
            time.sleep(0.1)
        yield env
