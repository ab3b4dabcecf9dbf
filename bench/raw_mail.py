"""What reading a raw mail back costs, and what storing it as a skeleton saves (issue 21).

A raw mail with large attachments is stored without their base64 (``vault.skeleton``) and
rebuilt from the attachments' blobs when it is read (export, salvage, quarantine retry). This
imports one generated mailbox (bench/mailgen.py, ``plain`` by default: 2.4 % of mails with
1–5 MB attachments) into a vault with this tree's kluis and, with ``--base DIR``, another
with that tree's; then reads every raw mail of each vault back (``vault.blobs.get_blob``) in
a process of its tree, interleaved, ``--repeat`` times: CPU seconds of the reads, MiB read,
the vault's blob bytes. ``--parts`` instead times packing and rebuilding one mail with an
attachment of each size, in this process: how ``vault.skeleton.MIN_PART`` was chosen.

Figures, not a test.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_mail
import mailgen
from measure import machine_line, median, run

_READ = """
import json, os, sys, time
from pathlib import Path
from vault.blobs import get_blob
from vault.store import execute
from vault.unlock import PassphraseSource, open_vault

store = open_vault(Path(os.environ["KLUIS_VAULT"]), PassphraseSource(allow_device=False))
with store.read() as conn:
    digests = [r[0] for r in execute(conn, "SELECT raw_blob FROM interaction").all()]
    stored = execute(conn, "SELECT sum(length(data)) FROM blob").scalar()
    codecs = dict(execute(conn, "SELECT codec, count(*) FROM blob GROUP BY codec").all())
    start, size = time.process_time(), 0
    for digest in digests:
        size += len(get_blob(conn, digest))
    cpu = time.process_time() - start
store.close()
print(json.dumps({"mails": len(digests), "bytes": size, "cpu": cpu, "stored": stored,
                  "codecs": codecs}))
"""


def _vault(tree: Path | None, work: Path, data: Path) -> dict[str, str]:
    """A vault in ``work`` with the mailbox in ``data`` imported by ``tree``'s kluis."""
    import_mail.SOURCE_TREE = tree
    kluis, env = import_mail.new_vault(work)
    done = run([*kluis, "import", str(data / "mailbox.mbox"), "--json"], env=env)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"kluis import failed: {done.stderr.strip()}")
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def _read(env: dict[str, str]) -> dict[str, float]:
    done = run([sys.executable, "-P", "-c", _READ], env=env)
    if done.returncode:
        raise RuntimeError(f"reading failed: {done.stderr.strip()[-500:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def _vaults(args: argparse.Namespace) -> int:
    print(machine_line())
    data = import_mail.mailbox(args.shape, args.mails, args.data, ["kluis"])
    trees = {"this tree": None} | ({"base": args.base.resolve()} if args.base else {})
    with tempfile.TemporaryDirectory(prefix="kluis-bench-raw-") as tmp:
        envs = {}
        for name, tree in trees.items():
            (Path(tmp) / name).mkdir()
            envs[name] = _vault(tree, Path(tmp) / name, data)
        reads: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for attempt in range(args.repeat):
            for name, env in envs.items():
                figures = _read(env)
                reads[name].append(figures)
                print(
                    f"  run {attempt + 1}/{args.repeat} {name:<10} {figures['mails']:,} raw mails, "
                    f"{figures['bytes'] / 2**20:,.1f} MiB read in {figures['cpu']:.2f} s CPU "
                    f"(blob bytes stored {figures['stored'] / 2**20:,.1f} MiB, "
                    f"codecs {figures['codecs']}), load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
    cpus = {name: median([r["cpu"] for r in runs]) for name, runs in reads.items()}
    for name, cpu in cpus.items():
        runs = reads[name]
        print(
            f"{name}: reading every raw mail back {cpu:.2f} s CPU (median of {len(runs)}), "
            f"{cpu / runs[0]['mails'] * 1000:.3f} ms per mail; "
            f"blobs {runs[0]['stored'] / runs[0]['mails'] / 1024:.1f} KiB per mail"
        )
    if args.base:
        print(f"this tree ÷ base, read CPU: {cpus['this tree'] / cpus['base']:.2f}×")
    return 0


def _attached(data: bytes) -> bytes:
    """A mail with a short note and ``data`` attached, as mailgen writes one."""
    text = base64.b64encode(data)
    lines = b"\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    return (
        b"From: Anna <anna@example.com>\nSubject: De scan\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
        + b"Hierbij de scan van het contract.\n"
        * 5
        + b'--B\nContent-Type: application/pdf; name="scan.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n" + lines + b"\n--B--\n"
    )


def _parts(repeat: int) -> int:
    """Pack and rebuild one mail with an attachment of each size, whole and as a skeleton."""
    from vault import blobs, skeleton

    skeleton.MIN_PART = 1  # every size as a skeleton, to see where it pays
    print(machine_line())
    print("attachment  whole: pack µs, stored B, read µs   skeleton: pack µs, stored B, read µs")
    for size in (1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000, 4_000_000):
        data = os.urandom(size)
        raw = _attached(data)
        part = blobs.pack(data)
        whole = blobs.pack(raw)
        made = blobs.pack_mail(raw, [(data, part)])
        fetch = {part.sha256: data}.get

        def timed(step: Callable[..., object], *args: object) -> float:
            start = time.process_time()
            for _ in range(repeat):
                step(*args)
            return (time.process_time() - start) / repeat * 1e6

        print(
            f"{size:>10,}  {timed(blobs.pack, raw):9.0f} {len(whole.data):10,} "
            f"{timed(blobs.decoded, whole.data, whole.codec):8.0f}   "
            f"{timed(blobs.pack_mail, raw, [(data, part)]):11.0f} {len(made.data):10,} "
            f"{timed(blobs.decoded, made.data, made.codec, made.sha256, fetch):8.0f}  "
            f"({made.codec})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--shape", default="plain", choices=sorted(mailgen.SHAPES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, help="the mailbox cache, as import_mail.py's")
    parser.add_argument("--base", type=Path, help="also a vault of this source tree's kluis")
    parser.add_argument("--parts", action="store_true", help="pack and rebuild by size")
    args = parser.parse_args(argv)
    return _parts(args.repeat * 10) if args.parts else _vaults(args)


if __name__ == "__main__":
    raise SystemExit(main())
