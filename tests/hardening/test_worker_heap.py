"""A parse worker copies a mail with a large scan about ten times (its text, its part, the
decoded bytes, their pickle): its heap keeps those blocks to be reused by the next copy instead
of taking fresh pages from the kernel for each, and gives them back before each chunk."""

from __future__ import annotations

import os
import sys

import pytest

from tests.hardening.harness import python_script

_SCRIPT = """
from vault.heap import reuse_large_blocks
from vault.pool import _apply

def resident():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) // 1024 for l in status if l.startswith("VmRSS:"))

def copies(n):
    held = [b"%d" % n * (5 << 20) for _ in range(4)]  # a 5 MB mail's copies
    return len(held)

reuse_large_blocks()
before = resident()
_apply(copies, [1, 2])
kept = resident()
_apply(copies, [])  # the next chunk starts
print(before, kept, resident())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc")
def test_a_workers_freed_mail_copies_are_reused_and_given_back_at_the_next_chunk() -> None:
    done = python_script(dict(os.environ), _SCRIPT)
    assert done.returncode == 0, done.stderr
    before, kept, after = map(int, done.stdout.split())
    assert kept - before >= 15, (before, kept)  # the copies' blocks stayed for the next mail
    assert after - before < 5, (before, kept, after)  # and went back with the next chunk
