"""`make bench-imap`: `kluis sync imap` against mbsync (isync) + `mu index`, from a real Dovecot.

Places --mails generated mails (bench/mailgen.py's ``commercial`` Maildir, cached as for
`make bench-import`; ``BENCH_MAILS``, default 5,000, or 20,000 for issue 21's set) in the test
Dovecot on 127.0.0.1 (tests/imap_server.py), lets it index them once, then runs in turn,
--repeat times (interleaved, so a burst of load on this shared machine hits both alike):

- ``kluis sync imap`` into a fresh vault (SQLCipher, FTS5, companies, bookings);
- ``mbsync`` of the account to a fresh Maildir, then ``mu init`` + ``mu index`` on it, as one
  process tree: what it takes to get the same mail into a searchable local store;
- ``kluis import`` of the same mail from the local Maildir, the floor a sync cannot go under.

Both log in over plain IMAP to 127.0.0.1 (no TLS on either side). Prints, per run and as
medians: wall, msg/s, CPU (user+sys of the whole process tree; Dovecot's own CPU, the same
for both, is not counted), tree PSS, and kluis's msg/s ratio. A tool that is not installed
(``apt-get install isync maildir-utils``) is skipped with a note. Figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests.imap_server: the tests' own Dovecot

import import_mail  # noqa: E402
from import_mail import mailbox, new_vault  # noqa: E402
from measure import Run, machine_line, median, run, table  # noqa: E402
from targets import report  # noqa: E402

from tests.imap_server import Dovecot, DovecotMissing, MailUser  # noqa: E402

Prepared = tuple[list[str], dict[str, str]]


def place_mail(server: Dovecot, user: MailUser, maildir: Path) -> int:
    """Copy the generated Maildir into ``user``'s INBOX and let Dovecot index it (untimed)."""
    target = server.mail / user.name / "Maildir"
    shutil.copytree(maildir, target)
    for folder, _, files in os.walk(server.mail / user.name):
        os.chown(folder, server.uid, server.gid)
        for name in files:
            os.chown(Path(folder) / name, server.uid, server.gid)
    with server.client(user) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search()
        for start in range(0, len(uids), 1000):  # Dovecot builds its index and cache here
            client.fetch(uids[start : start + 1000], ["RFC822.SIZE", "INTERNALDATE"])
    return len(uids)


def kluis_sync(server: Dovecot, user: MailUser) -> Callable[[Path], Prepared]:
    """``kluis sync imap`` of the account into a fresh vault in the run's folder."""

    def prepare(work: Path) -> Prepared:
        kluis, env = new_vault(work)
        env["KLUIS_IMAP_PASSWORD"] = user.password  # as a script gives it: never an option
        account = ["--host", server.host, "--port", str(server.port), "--user", user.name]
        return [*kluis, "sync", "imap", *account, "--plain", "--json"], env

    return prepare


def kluis_import(maildir: Path) -> Callable[[Path], Prepared]:
    """``kluis import`` of the same mail from the local Maildir: the sync's floor."""

    def prepare(work: Path) -> Prepared:
        kluis, env = new_vault(work)
        return [*kluis, "import", str(maildir), "--json"], env

    return prepare


def mbsync_mu(server: Dovecot, user: MailUser) -> Callable[[Path], Prepared]:
    """``mbsync`` to a fresh Maildir, then ``mu index`` of it, in one shell."""

    def prepare(work: Path) -> Prepared:
        local = work / "Maildir"
        config = work / "mbsyncrc"
        config.write_text(
            f"IMAPAccount bench\nHost {server.host}\nPort {server.port}\nUser {user.name}\n"
            f"Pass {user.password}\nSSLType None\nAuthMechs LOGIN\n\n"
            "IMAPStore bench-remote\nAccount bench\n\n"
            f"MaildirStore bench-local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n"
            "Channel bench\nFar :bench-remote:\nNear :bench-local:\nPatterns *\n"
            f"Create Near\nSync Pull\nSyncState {work}/state/\n"
        )
        config.chmod(0o600)
        (work / "state").mkdir()
        local.mkdir()
        mu = f"mu init --quiet --maildir={local} --muhome={work / 'mu'}"
        script = f"mbsync -q -c {config} -a && {mu} && mu index --quiet --muhome={work / 'mu'}"
        return ["sh", "-c", script], import_mail._env()

    return prepare


def _count(work: Path, result: Run) -> int:
    """How many mails the run stored."""
    if (work / "vault").exists():
        return int(json.loads(result.stdout)["new"])
    info = run(["mu", "info", f"--muhome={work / 'mu'}", "store"])
    for line in info.stdout.splitlines():
        if "messages in store" in line:
            return int(line.split("|")[2].strip())
    return -1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=int(os.environ.get("BENCH_MAILS", "5000")))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--tools", default="kluis,mbsync,import", help="comma-separated: kluis,mbsync,import"
    )
    parser.add_argument("--data", type=Path, help="generated mail cache ($TMPDIR/kluis-bench)")
    parser.add_argument("--src", type=Path, help="run kluis from this source tree (before/after)")
    args = parser.parse_args(argv)
    import_mail.SOURCE_TREE = args.src.resolve() if args.src else None
    print(machine_line())
    if import_mail.SOURCE_TREE is not None:
        print(f"kluis from source tree: {import_mail.SOURCE_TREE}")
    data = mailbox("commercial", args.mails, args.data, ["kluis-maildir"])
    try:
        server = Dovecot()
    except DovecotMissing as exc:
        print(f"skipped: {exc}")
        return 0
    names = {
        "kluis": "kluis sync imap",
        "mbsync": "mbsync + mu index",
        "import": "kluis import Maildir",
    }
    wanted = [name.strip() for name in args.tools.split(",") if name.strip() in names]
    missing = [tool for tool in ("mbsync", "mu") if shutil.which(tool) is None]
    if missing and "mbsync" in wanted:
        wanted.remove("mbsync")
        print(f"  skipped: mbsync + mu index ({', '.join(missing)} not installed)")
    runs: dict[str, list[Run]] = {name: [] for name in wanted}
    counts: dict[str, int] = {}
    try:
        server.start()
        user = server.add_user("bench")
        placed = place_mail(server, user, data / "Maildir")
        print(f"Dovecot on 127.0.0.1:{server.port}: {placed:,} mails in INBOX")
        tools = {
            "kluis": kluis_sync(server, user),
            "mbsync": mbsync_mu(server, user),
            "import": kluis_import(data / "Maildir"),
        }
        for attempt in range(args.repeat):
            for name in wanted:
                with tempfile.TemporaryDirectory(prefix=f"kluis-bench-imap-{name}-") as tmp:
                    command, env = tools[name](Path(tmp))
                    result = run(command, env=env)
                    if result.returncode not in (0, 3):  # 3: kluis quarantined some
                        print(f"  {name}: exit {result.returncode}: {result.stderr[-500:]}")
                        continue
                    counts[name] = _count(Path(tmp), result)
                runs[name].append(result)
                print(
                    f"  run {attempt + 1}/{args.repeat} {names[name]:<18} {result.wall:7.1f} s  "
                    f"{placed / result.wall:7,.0f} msg/s  cpu {result.cpu:5.1f} s  "
                    f"tree PSS {result.tree_pss_mb:4.0f} MB  load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
    finally:
        server.close()
    _report(placed, args.repeat, {n: rs for n, rs in runs.items() if rs}, names, counts)
    return 0


def _report(
    mails: int,
    repeat: int,
    runs: dict[str, list[Run]],
    names: dict[str, str],
    counts: dict[str, int],
) -> None:
    """The table of medians, and issue 21's target: kluis ≥ 1.0× mbsync + mu index."""
    rate = {name: mails / median([r.wall for r in rs]) for name, rs in runs.items()}
    rows = [
        [
            names[name],
            f"{median([r.wall for r in rs]):.1f}",
            f"{rate[name]:,.0f}",
            f"{median([r.cpu for r in rs]):.1f}",
            f"{median([r.tree_pss_mb for r in rs]):.0f}",
            f"{counts.get(name, -1):,}",
            f"{rate.get('kluis', 0) / rate[name]:.2f}×",
        ]
        for name, rs in runs.items()
    ]
    print()
    header = [f"IMAP, {mails:,} mails (medians of {repeat})", "wall s", "msg/s", "CPU s"]
    print(table([*header, "tree PSS MB", "stored", "kluis ÷ it"], rows))
    if "kluis" in rate and "mbsync" in rate:
        ratio = rate["kluis"] / rate["mbsync"]
        report(
            f"IMAP {mails:,}: kluis sync ÷ mbsync + mu index msg/s",
            ratio,
            1.0,
            "×",
            higher_is_better=True,
        )


if __name__ == "__main__":
    raise SystemExit(main())
