"""A real, throwaway Dovecot for the IMAP tests, on 127.0.0.1 at free high ports.

Everything it needs lives in one temporary folder: its config, a passwd-file per test user,
the Maildirs, its runtime and state folders, its log, and a self-signed certificate for the
TLS port. As root it runs the mail processes as the system user ``kluistest`` (created if
missing; Dovecot refuses to touch mail as root) and keeps the Debian package's ``dovecot``
and ``dovenull`` users for its own processes. As any other user everything runs as that user.

The folder is made with ``mkdtemp`` (not pytest's ``tmp_path``, whose parents are 0700)
because the ``kluistest`` mail processes must be able to reach their Maildirs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from imapclient import IMAPClient

MAIL_USER = "kluistest"
"""The system user that owns the test Maildirs when the tests run as root."""

_LOGOUT_STATS = re.compile(r"imap\((?P<user>[^)]+)\).*Disconnected.*body_count=(?P<bodies>\d+)")


class DovecotMissing(RuntimeError):
    """``dovecot`` is not installed (CI installs dovecot-core and dovecot-imapd)."""


@dataclass(frozen=True)
class MailUser:
    """One IMAP login on the test server."""

    name: str
    password: str


def dovecot_binary() -> str:
    """The path of ``dovecot``.

    Raises:
        DovecotMissing: it is not installed.
    """
    for candidate in (shutil.which("dovecot"), "/usr/sbin/dovecot"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise DovecotMissing(
        "dovecot is not installed: the IMAP tests need a real server "
        "(apt-get install dovecot-core dovecot-imapd), or set KLUIS_SKIP_IMAP=1 to skip them"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mail_owner() -> tuple[int, int]:
    """(uid, gid) for the mail processes: ``kluistest`` as root, else the current user."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MAIL_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(MAIL_USER)
    return entry.pw_uid, entry.pw_gid


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key; returns (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kluis test IMAP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _signal_group(group: int, signum: int) -> None:
    """Send ``signum`` to a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


class Dovecot:
    """A Dovecot master process with its own config; ``start``, ``stop`` and users."""

    host = "127.0.0.1"

    def __init__(self, introspection_url: str | None = None) -> None:
        """``introspection_url``: also accept OAuth2 bearer tokens (SASL XOAUTH2 and
        OAUTHBEARER), checked by Dovecot's ``oauth2`` passdb against that RFC 7662 endpoint."""
        self.introspection_url = introspection_url
        self.binary = dovecot_binary()
        self.root = Path(tempfile.mkdtemp(prefix="kluis-dovecot-"))
        self.root.chmod(0o755)  # the mail processes run as another user
        self.uid, self.gid = _mail_owner()
        self.mail = self.root / "mail"
        self.mail.mkdir()
        os.chown(self.mail, self.uid, self.gid)
        self.passwd_dir = self.root / "users"
        self.passwd_dir.mkdir()
        self.passwd_dir.chmod(0o755)  # whatever the umask (kluis's CLI sets 077)
        self.log = self.root / "dovecot.log"
        self.cert, key = _self_signed_certificate(self.root)
        self.port = free_port()
        self.tls_port = free_port()
        self.config = self.root / "dovecot.conf"
        self.config.write_text(self._config(key))
        self.process: subprocess.Popen[bytes] | None = None
        self.users: dict[str, MailUser] = {}

    def _config(self, key: Path) -> str:
        own_users = ""
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            own_users = (
                f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                f"default_login_user = {me}\n"
            )
        oauth_mechanisms = oauth_passdb = ""
        if self.introspection_url:
            oauth_mechanisms = " xoauth2 oauthbearer"
            oauth_config = self.root / "dovecot-oauth2.conf.ext"
            oauth_config.write_text(
                f"introspection_url = {self.introspection_url}\n"
                "introspection_mode = post\n"
                "force_introspection = yes\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )
            oauth_config.chmod(0o644)
            # After the passwd-file: a token is no password, so the lookup goes on to here.
            oauth_passdb = f"passdb {{\n  driver = oauth2\n  args = {oauth_config}\n}}\n"
        return f"""\
# Throwaway Dovecot for kluis's IMAP tests; nothing outside {self.root} is used.
protocols = imap
listen = {self.host}
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = kluis-test-{self.root.name}
log_path = {self.log}
{own_users}first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
first_valid_gid = {self.gid}
auth_failure_delay = 0
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth_mechanisms}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd_dir}/%n
}}
{oauth_passdb}userdb {{
  driver = passwd-file
  args = {self.passwd_dir}/%n
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
# Every command each user's sessions send, to count them (``commands``); after login only.
protocol imap {{
  rawlog_dir = {self.root}/rawlog/%u
}}
# No growing delay after a failed login from 127.0.0.1 (the wrong-password test).
# No chroot: a non-root Dovecot cannot, and a test server does not need it.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
    ssl = yes
  }}
}}
"""

    def start(self) -> None:
        """Start the server and wait until it greets on its port."""
        if self.process is not None:
            return
        with (self.root / "stderr.txt").open("ab") as stderr:
            self.process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group, so stop() reaches every child
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"dovecot did not start:\n{self._diagnostics()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}:\n{self._diagnostics()}")

    def stop(self) -> None:
        """Stop the server, and with it every open session: clients see the connection drop.

        The whole process group is signalled because a Dovecot ``imap`` process outlives
        its master and keeps serving its client when only the master is stopped.
        """
        process, self.process = self.process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # any child still there

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _diagnostics(self) -> str:
        parts = []
        for path in (self.root / "stderr.txt", self.log):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def add_user(self, name: str, password: str = "geheim") -> MailUser:
        """A new login with an empty mailbox; works while the server runs."""
        home = self.mail / name
        line = f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}\n"
        # One passwd-file per user: Dovecot looks at a changed file at most once a second,
        # but reads a file it has not seen before at once.
        entry = self.passwd_dir / name
        entry.write_text(line)
        entry.chmod(0o644)  # Dovecot's auth process runs as its own user
        rawlog = self.root / "rawlog" / name
        rawlog.mkdir(parents=True)
        rawlog.parent.chmod(0o755)  # whatever the umask: the mail processes write below it
        os.chown(rawlog, self.uid, self.gid)
        user = MailUser(name, password)
        self.users[name] = user
        return user

    def client(self, user: MailUser) -> IMAPClient:
        """A separate plain connection, logged in, to look at the mailbox as a test."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user.name, user.password)
        return client

    def append(
        self, user: MailUser, folder: str, messages: list[bytes], flags: tuple[bytes, ...] = ()
    ) -> None:
        """Deliver ``messages`` by IMAP APPEND, so the server hands out real UIDs."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for message in messages:
                client.append(folder, message, flags=flags)

    def commands(self, user: MailUser, pattern: str, timeout: float = 10.0) -> list[str]:
        """The commands ``user``'s sessions sent that match ``pattern`` (a regular expression
        for the command after its tag, e.g. ``UID FETCH``), from Dovecot's rawlog, each as
        ``TAG COMMAND ...`` (the rawlog's time stamp taken off)."""
        wanted = re.compile(rf"^(?:\d+\.\d+ )?(\S+ (?:{pattern}).*)", re.IGNORECASE)
        logs = sorted((self.root / "rawlog" / user.name).glob("*.in"))
        # A session's rawlog is complete once its imap process (the pid in the file's name,
        # ``<time>.<pid>.<n>.in``) has ended: until then the last commands may be buffered.
        deadline = time.monotonic() + timeout
        for log in logs:
            while Path(f"/proc/{log.name.split('.')[1]}").exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        lines: list[str] = []
        for log in logs:
            text = log.read_bytes().decode("utf-8", "replace")
            lines += [found[1] for found in map(wanted.match, text.splitlines()) if found]
        return lines

    def bodies_fetched(self, user: MailUser, timeout: float = 5.0) -> int:
        """How many message bodies ``user``'s sessions have fetched, all told.

        Read from Dovecot's own logout lines (``body_count=``). The log process writes
        them shortly after a client has gone, so this waits until every login has one.
        """
        deadline = time.monotonic() + timeout
        while True:
            log = self.log.read_text(errors="replace")
            logins = log.count(f"Login: user=<{user.name}>")
            counts = [
                int(match["bodies"])
                for match in _LOGOUT_STATS.finditer(log)
                if match["user"] == user.name
            ]
            if len(counts) >= logins or time.monotonic() > deadline:
                return sum(counts)
            time.sleep(0.05)
