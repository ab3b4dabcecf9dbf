"""The IMAP importer: new mail from an account's folders, read-only and resumable.

``read_account`` logs in, picks the folders (all but Trash and Junk/Spam, or the ones the
user named), and yields each new message as ``parse_message`` makes it, with a
``Checkpoint`` after every fetched chunk. Nothing on the server changes: folders are opened
with EXAMINE and bodies fetched with ``BODY.PEEK[]``, so no message gets ``\\Seen``.

The account's cursor holds each folder's UIDVALIDITY and the last UID stored; every
checkpoint carries all folders, so the latest one is always the whole truth. A different
UIDVALIDITY means the server renumbered the folder: it is read again, and dedup by
Message-ID keeps that at zero duplicates. A dropped connection is retried with backoff,
resuming the folder after the last chunk yielded; after the last retry it is one clear
error, and the next sync resumes from the last stored checkpoint.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, NamedTuple, cast
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import (
    CapabilityError,
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)

from importers.email import imap_fetch
from importers.email.imap_fetch import Fetched, Refused, as_text
from importers.email.mbox import POOL_MIN_BYTES
from importers.email.message import FULL_RECORD_MODULES, parse_message
from vault.errors import (
    ConnectionLost,
    LoginRefused,
    MailServerError,
    TlsFailed,
    UsageError,
)
from vault.pool import map_in_pool, packed_ahead
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Position, Quarantined

Security = Literal["tls", "starttls", "plain"]

POOL_WINDOW = 4
"""Fetched batches (``imap_fetch.BATCH_BYTES`` each at most) parsing or parsed, not yet
stored: what bounds a sync's memory, whatever the mails' sizes."""

RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)
"""Seconds to wait before each retry after a network error (read at call time)."""

TIMEOUT = 60.0
"""Seconds a connect or a read may take before it counts as a network error."""

DEFAULT_PORTS: dict[Security, int] = {"tls": 993, "starttls": 143, "plain": 143}

_SKIPPED_FLAGS = frozenset({b"\\trash", b"\\junk", b"\\spam"})  # \Spam: Gmail's old XLIST
_UNSELECTABLE_FLAGS = frozenset({b"\\noselect", b"\\nonexistent"})
# Folder names (their last part, case-folded) that mean Trash or Junk on servers without
# SPECIAL-USE, in the languages kluis's users are most likely to meet.
_SKIPPED_NAMES = frozenset(
    {
        "trash",
        "deleted",
        "deleted items",
        "deleted messages",
        "bin",
        "junk",
        "junk e-mail",
        "junk email",
        "junk mail",
        "spam",
        "bulk mail",
        "prullenbak",
        "verwijderde items",
        "verwijderde berichten",
        "ongewenst",
        "ongewenste e-mail",
        "ongewenste mail",
        "papierkorb",
        "gelöschte elemente",
        "gelöschte objekte",
        "junk-e-mail",
        "corbeille",
        "éléments supprimés",
        "courrier indésirable",
        "pourriel",
        "papelera",
        "elementos eliminados",
        "correo no deseado",
        "cestino",
        "posta indesiderata",
    }
)
# Transient failures worth a retry. A certificate or handshake failure is not one: it
# will fail the same way again (ssl.SSLError is an OSError, so it is caught first).
_NETWORK_ERRORS = (OSError, EOFError, IMAPClientAbortError)


@dataclass(frozen=True, slots=True)
class Account:
    """Where and how to log in; ``folders`` empty means all but Trash and Junk. ``auth``:
    the secret is a password, or an OAuth2 access token sent by SASL XOAUTH2 or OAUTHBEARER."""

    host: str
    user: str
    port: int
    security: Security = "tls"
    folders: tuple[str, ...] = ()
    auth: str = "password"

    @property
    def locator(self) -> str:
        """The account as the vault's ``source`` table names it: ``user@host:port``."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def cursor_key(self) -> str:
        """The ``sourcecursor`` key of the account (the state has every folder)."""
        return f"imap:{self.locator}"

    def source_ref(self, folder: str, uid: int) -> str:
        """Where one message lives, as an RFC 5092 IMAP URL."""
        return f"imap://{quote(self.user, safe='')}@{self.host}/{quote(folder)};UID={uid}"


def check_plain_allowed(account: Account) -> None:
    """Refuse an unencrypted connection unless every address of the host is loopback.

    Raises:
        UsageError: ``--plain`` to a host that is, or might be, on the network.
    """
    if account.security != "plain":
        return
    try:
        infos = socket.getaddrinfo(account.host, account.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UsageError(
            f"--plain is only allowed to a loopback address, and {account.host} does not "
            f"resolve ({_reason(exc)})"
        ) from None
    addresses = {str(info[4][0]) for info in infos}
    # A host name resolving to any non-loopback address would send the password in clear.
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise UsageError(
            f"--plain sends the password unencrypted, so it is only allowed to a loopback "
            f"address; {account.host} is not one (use --tls or --starttls)"
        )


def choose_folders(
    listing: Iterable[tuple[Sequence[bytes], Any, str]], wanted: Sequence[str]
) -> list[str]:
    """The folders to sync, from a ``LIST`` answer (``IMAPClient.list_folders``).

    Args:
        listing: ``(flags, delimiter, name)`` for every folder on the server.
        wanted: the folders the user named; empty for all but Trash and Junk/Spam (by
            SPECIAL-USE flag, else by a common or localized name, with their subfolders).

    Raises:
        UsageError: a wanted folder is not on the server.
    """
    folders: list[tuple[str, str]] = []  # (name, delimiter)
    skipped: list[str] = []
    for flags, delimiter, name in listing:
        lowered = {bytes(flag).lower() for flag in flags}
        if lowered & _UNSELECTABLE_FLAGS:
            continue
        sep = delimiter.decode() if isinstance(delimiter, bytes) else str(delimiter or "")
        if lowered & _SKIPPED_FLAGS or _has_skipped_name(name, sep):
            skipped.append(name)
        folders.append((name, sep))
    if wanted:
        return _pick(wanted, [name for name, _ in folders])
    return [
        name for name, sep in folders if not any(_inside(name, trash, sep) for trash in skipped)
    ]


def _has_skipped_name(name: str, delimiter: str) -> bool:
    """True for a Trash or Junk folder by name: ``Prullenbak``, ``[Gmail]/Spam``."""
    last = name.rsplit(delimiter, 1)[-1] if delimiter else name
    return last.strip().casefold() in _SKIPPED_NAMES


def _inside(name: str, folder: str, delimiter: str) -> bool:
    """True if ``name`` is ``folder`` or one of its subfolders."""
    return name == folder or (bool(delimiter) and name.startswith(folder + delimiter))


def _pick(wanted: Sequence[str], available: list[str]) -> list[str]:
    """The wanted folders by their server names; INBOX matches in any case (RFC 3501)."""
    by_name = {name: name for name in available}
    by_name.update({name.upper(): name for name in available if name.upper() == "INBOX"})
    chosen: list[str] = []
    for folder in wanted:
        name = by_name.get(folder.upper() if folder.upper() == "INBOX" else folder)
        if name is None:
            shown = ", ".join(available) or "none"
            raise UsageError(f"there is no folder {folder!r} on the server (folders: {shown})")
        if name not in chosen:
            chosen.append(name)
    return chosen


def read_account(
    account: Account,
    password: str,
    options: ImportOptions,
    *,
    on_login: Callable[[], None] | None = None,
    delays: Sequence[float] | None = None,
) -> Generator[Item, None, None]:
    """Yield the new mail of every chosen folder, a ``Checkpoint`` after each fetched batch.

    From ``POOL_MIN_BYTES`` of new mail on, a thread fetches the batches and worker processes
    parse them (``vault.pool``, as for a big mbox) while this process stores what comes back,
    in order: the network, the parsing and the writer overlap.

    Args:
        account: where to log in and which folders to read.
        password: the account's password (never logged or shown).
        options: who the user is, and the folders' cursors.
        on_login: called once after the first successful login, e.g. to remember the account.
        delays: seconds before each retry after a network error (default ``RETRY_DELAYS``).

    Raises:
        UsageError: ``--plain`` to a remote host, or a named folder that does not exist.
        LoginRefused: wrong user name or password.
        TlsFailed: the server's certificate is not trusted, or TLS could not be set up.
        ConnectionLost: the network kept failing through every retry.
    """
    check_plain_allowed(account)
    delays = RETRY_DELAYS if delays is None else delays
    session = _Session(account, password, delays, on_login, options)
    parsed = _parsed(session.batches(), partial(_parse_batch, account=account, options=options))
    finished = False
    try:
        # Not `yield from`: that would close `parsed` (and wait for the fetch thread) before
        # the interrupt below could end a read blocked on the network.
        for item in parsed:  # noqa: UP028
            yield item
        finished = True
    finally:
        if not finished:
            session.interrupt()  # a fetch thread blocked on the network ends now
        parsed.close()
        session.close()


class _Batch(NamedTuple):
    """One FETCH's worth of a folder, for a parse worker: the mails, anything refused, and
    the checkpoint after them; their bytes, and about how many more the folder has new."""

    folder: str
    uidvalidity: int
    entries: list[Fetched | Item]
    size: int
    ahead: int = 0


def _parsed(
    batches: Iterator[_Batch], parse: Callable[[_Batch], list[Item]]
) -> Generator[Item, None, None]:
    """The items of ``batches`` in order; once ``POOL_MIN_BYTES`` of mail has come or is
    about to, the rest is parsed by a worker pool (a small sync, the usual one, costs none)."""
    held = 0
    for batch in batches:
        yield from parse(batch)
        held += batch.size
        if held + batch.ahead >= POOL_MIN_BYTES:
            pooled = cast(
                "Generator[list[Item], None, None]",
                map_in_pool(
                    parse,
                    batches,
                    chunksize=1,
                    window=POOL_WINDOW,
                    first=0,
                    preload=FULL_RECORD_MODULES,
                ),
            )
            try:
                for items in pooled:
                    yield from items
            finally:
                pooled.close()
            return


def _parse_batch(batch: _Batch, *, account: Account, options: ImportOptions) -> list[Item]:
    """The items of one fetched batch: each mail parsed (picklable, for the pool)."""
    return [
        packed_ahead(_message(account, batch.folder, batch.uidvalidity, entry, options))
        if isinstance(entry, Fetched)
        else entry
        for entry in batch.entries
    ]


class _Session:
    """One logged-in connection, reopened after a network error with backoff."""

    def __init__(
        self,
        account: Account,
        password: str,
        delays: Sequence[float],
        on_login: Callable[[], None] | None,
        options: ImportOptions,
    ) -> None:
        self.account = account
        self.password = password
        self.delays = tuple(delays)
        self.on_login = on_login
        self.client: IMAPClient | None = None
        self.logged_in = False
        self.stopping = False
        self.cursor = _Cursor(account.cursor_key, options.cursors.get(account.cursor_key))

    def connected(self) -> IMAPClient:
        """The logged-in client, connecting first if there is none."""
        if self.client is None:
            self.client = connect(self.account, self.password)
            self.logged_in = True
            if self.on_login is not None:
                self.on_login()
                self.on_login = None
        return self.client

    def close(self) -> None:
        """Log out, or just drop the socket if the connection is already broken."""
        client, self.client = self.client, None
        if client is not None:
            disconnect(client)

    def interrupt(self) -> None:
        """End the sync from another thread: a blocked read fails at once, with no retry."""
        self.stopping = True
        client = self.client
        if client is not None:
            with contextlib.suppress(OSError):
                client.socket().shutdown(socket.SHUT_RDWR)

    def call(self, action: Callable[[IMAPClient], list[str]]) -> list[str]:
        """Run ``action`` on the connection, retrying network errors with backoff."""
        failures = 0
        while True:
            try:
                return action(self.connected())
            except _NETWORK_ERRORS as exc:
                failures = self._after_failure(exc, failures)

    def batches(self) -> Iterator[_Batch]:
        """Every chosen folder's new mail, batch by batch."""
        folders = self.call(
            lambda client: choose_folders(client.list_folders(), self.account.folders)
        )
        for folder in folders:
            yield from self.read_folder(folder)

    def read_folder(self, folder: str) -> Iterator[_Batch]:
        """One folder's new mail; a network error resumes after the last checkpoint yielded."""
        failures = 0
        while True:
            try:
                for batch in _folder_batches(self, folder):
                    failures = 0  # progress: the retries start over
                    yield batch
                return
            except _NETWORK_ERRORS as exc:
                failures = self._after_failure(exc, failures)
            except IMAPClientError as exc:  # the server said NO or BAD: a retry will not help
                raise MailServerError(f"{self.account.host}: {folder}: {_reason(exc)}") from None

    def _after_failure(self, exc: BaseException, failures: int) -> int:
        """Drop the connection and wait before the next try; raise when out of tries."""
        self.close()
        if self.stopping:
            raise ConnectionLost(f"{self.account.host}: the sync was stopped") from None
        if isinstance(exc, ssl.SSLError):
            raise _tls_error(self.account, exc) from None
        if failures >= len(self.delays):
            tries = f"{failures} {'retry' if failures == 1 else 'retries'}"
            if self.logged_in:
                what = f"{self.account.host}: connection lost after {tries}"
            else:
                what = f"cannot connect to {self.account.host}:{self.account.port} after {tries}"
            raise ConnectionLost(
                f"{what} ({_reason(exc)}); the next sync resumes where this one stopped"
            ) from None
        time.sleep(self.delays[failures])
        return failures + 1


class _Folder:
    """A selected folder of a session (``imap_fetch.Connection``)."""

    def __init__(self, session: _Session, name: str, uidvalidity: int) -> None:
        self.session = session
        self.name = name
        self.uidvalidity = uidvalidity

    def current(self) -> IMAPClient:
        """The session's client, with this folder selected."""
        return self.session.connected()

    def reopen(self) -> IMAPClient:
        """A new connection with the folder selected again.

        Raises:
            IMAPClientAbortError: the folder was renumbered meanwhile: read it again.
        """
        self.session.close()
        client = self.session.connected()
        selected = client.select_folder(self.name, readonly=True)
        if int(selected[b"UIDVALIDITY"]) != self.uidvalidity:
            raise IMAPClientAbortError(f"{self.name} was renumbered (UIDVALIDITY changed)")
        return client


def disconnect(client: IMAPClient) -> None:
    """Log out, or just drop the socket if the connection is already broken."""
    try:
        client.logout()
    except Exception:  # the connection is gone either way; nothing to tell the user
        with contextlib.suppress(Exception):  # already closed
            client.shutdown()


def connect(account: Account, password: str, timeout: float | None = None) -> IMAPClient:
    """A logged-in client for ``account`` (TLS, STARTTLS or, to loopback only, plain).

    Raises:
        LoginRefused: the server refused the login.
        TlsFailed: the certificate is not trusted, or the server offers no STARTTLS.
        OSError, IMAPClientAbortError: network errors, for the caller to retry.
    """
    context = ssl.create_default_context()
    client = IMAPClient(
        account.host,
        port=account.port,
        ssl=account.security == "tls",
        ssl_context=context if account.security == "tls" else None,
        timeout=TIMEOUT if timeout is None else timeout,
    )
    client.normalise_times = False  # INTERNALDATE with its offset, not as naive local time
    try:
        if account.security == "starttls":
            client.starttls(context)
        if account.auth == "xoauth2":
            client.oauth2_login(account.user, password)
        elif account.auth == "oauthbearer":
            client.oauthbearer_login(account.user, password)
        else:
            client.login(account.user, password)
    except CapabilityError:
        client.shutdown()
        raise TlsFailed(
            f"{account.host}:{account.port} does not offer STARTTLS; use --tls (usually port 993)"
        ) from None
    except LoginError as exc:
        client.shutdown()
        if isinstance(exc.__context__, IMAPClientAbortError):
            raise exc.__context__ from None  # imapclient calls a dropped connection a LoginError
        raise LoginRefused(
            f"{account.host} refused the login for {account.user!r}: {_reason(exc)}"
        ) from None
    except BaseException:
        client.shutdown()
        raise
    return client


class _Cursor:
    """The account's cursor: ``{"folders": {name: {"uidvalidity", "last_uid"}}}``.

    Every checkpoint carries the state of all folders, because ingest keeps only the
    latest checkpoint of a batch, and a batch may span folders.
    """

    def __init__(self, key: str, stored: dict[str, Any] | None) -> None:
        self.key = key
        folders = (stored or {}).get("folders", {})
        self.folders: dict[str, dict[str, int]] = {
            name: dict(state) for name, state in folders.items() if isinstance(state, dict)
        }

    def last_uid(self, folder: str, uidvalidity: int) -> int | None:
        """The last UID stored from ``folder``; None if never read or renumbered since."""
        state = self.folders.get(folder)
        if state is None or state.get("uidvalidity") != uidvalidity:
            return None
        return int(state.get("last_uid", 0))

    def advance(
        self, folder: str, uidvalidity: int, last_uid: int, position: Position | None = None
    ) -> Checkpoint:
        """Record ``folder``'s progress; the checkpoint that stores it, with a copy of all
        and how far into the folder's new messages that is."""
        self.folders[folder] = {"uidvalidity": uidvalidity, "last_uid": last_uid}
        # A copy: the checkpoint is written later, with its batch, and must not see more.
        state = {"folders": {n: dict(s) for n, s in self.folders.items()}}
        return Checkpoint(self.key, state, position)


def _folder_batches(session: _Session, folder: str) -> Iterator[_Batch]:
    """The messages of ``folder`` after its cursor, fetched in batches (``imap_fetch``), each
    batch ending in a ``Checkpoint``."""
    client = session.connected()
    selected = client.select_folder(folder, readonly=True)  # EXAMINE: flags stay as they are
    uidvalidity = int(selected[b"UIDVALIDITY"])
    cursor = session.cursor
    stored = cursor.last_uid(folder, uidvalidity)
    last_uid = stored or 0
    # `UID n:*` always matches the highest UID, even when it is below n (RFC 3501 6.4.8),
    # so "nothing new" comes back as the last message: keep only UIDs after the cursor.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    if not uids and stored is None:
        # Remember a new UIDVALIDITY even for an empty folder, so it is not rescanned.
        yield _Batch(folder, uidvalidity, [cursor.advance(folder, uidvalidity, last_uid)], 0)
    selected_folder = _Folder(session, folder, uidvalidity)
    done = 0
    for batch in imap_fetch.batches(selected_folder, uids):
        entries: list[Fetched | Item] = [
            Quarantined(session.account.source_ref(folder, entry.uid), b"", entry.reason)
            if isinstance(entry, Refused)
            else entry
            for entry in imap_fetch.fetch_batch(selected_folder, batch)
        ]
        done += len(batch)
        position = Position(done, len(uids), "messages", folder)
        entries.append(cursor.advance(folder, uidvalidity, batch[-1][0], position))
        size = sum(len(entry.raw) for entry in entries if isinstance(entry, Fetched))
        ahead = (len(uids) - done) * size // len(batch)  # guessed from this batch's mails
        yield _Batch(folder, uidvalidity, entries, size, ahead)


def _message(
    account: Account, folder: str, uidvalidity: int, mail: Fetched, options: ImportOptions
) -> Interaction | Quarantined:
    """One fetched message as an item, with where it lives on the server in its extras."""
    item = parse_message(mail.raw, account.source_ref(folder, mail.uid), options)
    if isinstance(item, Interaction):
        item.extras.update(
            folder=folder, flags=list(mail.flags), uid=mail.uid, uidvalidity=uidvalidity
        )
        if mail.internaldate is not None:
            item.extras["internaldate"] = mail.internaldate  # when the server received it
    return item


def _reason(exc: BaseException) -> str:
    """The gist of an exception for a one-line message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(as_text(arg) for arg in exc.args) if exc.args else ""
    # imaplib wraps server answers as "b'[AUTHENTICATIONFAILED] ...'".
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return " ".join(text.split()) or type(exc).__name__


def _tls_error(account: Account, exc: ssl.SSLError) -> TlsFailed:
    """A one-line message for a certificate or handshake failure."""
    where = f"{account.host}:{account.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or _reason(exc)
        return TlsFailed(
            f"{where}: the server's TLS certificate is not trusted ({reason}); "
            "kluis does not send your password to a server it cannot verify"
        )
    hint = " (is this a TLS port? try --starttls)" if account.security == "tls" else ""
    return TlsFailed(f"{where}: TLS failed: {exc.reason or _reason(exc)}{hint}")
