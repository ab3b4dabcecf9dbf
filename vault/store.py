"""The encrypted store: a SQLCipher 4 database keyed with the raw data key.

Every connection is keyed first (``PRAGMA key = "x'…'"``) and then configured the same way,
so the page size and pragmas of DESIGN hold on every open. The folder is 0700 and the file is
created 0600 before SQLCipher opens it; the WAL files inherit the mode.

SQL runs one way, through this module: ``execute`` (``Rows``: the rows, ``rowcount``,
``lastrowid``), ``executemany`` and ``stream``, on any ``Conn`` the store hands out. SQLAlchemy
(a third of a second to import) loads only when something asks for ``begin()``, ``read()`` or
``engine``: the read-only CLI commands use ``reader()``, a plain DB-API connection, and the
ingest runs on the DB-API connection under its ``begin()`` (``driver``).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

import sqlcipher3

from vault.errors import VaultBusy, VaultCorrupt, VaultDamaged
from vault.fsutil import create_private_file, make_private_folder, read_file_start

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

DB_FILE = "vault.db"
_WRITING = "kluis_writing"  # execution option of ``Store.begin``'s connections
PAGE_SIZE = 16384
SALT_BYTES = 16
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_CONNECTION_PRAGMAS = (
    f"PRAGMA cipher_page_size = {PAGE_SIZE}",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA secure_delete = ON",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


def db_path(folder: Path) -> Path:
    """Where a vault folder keeps its database."""
    return folder / DB_FILE


def database_salt(folder: Path) -> bytes | None:
    """The SQLCipher salt that starts ``vault.db``: random per database, readable without the
    key, kept for the database's life (VACUUM keeps it; ``sqlcipher_export`` makes a new one).
    None when there is no readable, non-empty database file."""
    try:
        salt = read_file_start(db_path(folder), SALT_BYTES)
    except OSError:
        return None
    return salt if len(salt) == SALT_BYTES and any(salt) else None


def _key_pragma(dek: bytes) -> str:
    hex_key = dek.hex()
    # A raw key that is not exactly 64 hex digits is silently taken as a passphrase by SQLCipher.
    if not _HEX_KEY.fullmatch(hex_key):
        raise ValueError("the data key must be 32 bytes")
    return f"PRAGMA key = \"x'{hex_key}'\""


# SQLCipher logs "ERROR CORE ..." lines to the process's stderr (fd 2, from C) for every page
# that fails to decrypt, which would break the one-line error contract; its level is global to
# the process, set again on each connection before the key because that is when it logs.
_QUIET_LOG = "PRAGMA cipher_log_level = NONE"
_SALVAGE_PRAGMAS = ("PRAGMA query_only = ON", "PRAGMA writable_schema = ON")
_DAMAGE_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
# The same, as the text SQLite gives them; sqlcipher_export() reports them as a plain error.
_DAMAGE_MESSAGES = frozenset({"database disk image is malformed", "file is not a database"})
DAMAGE_HINT = "`kluis doctor` shows what is readable and `kluis doctor --salvage DIR` saves it"
"""What to do about a damaged vault.db, said once wherever damage is reported."""


def connect_raw(path: Path, dek: bytes, *, salvage: bool = False) -> Any:
    """A keyed, configured DB-API connection to ``path`` (which must already exist).

    ``salvage`` opens a damaged file for reading only, even one cut short (SQLite otherwise
    refuses a file smaller than its header says; the missing pages then fail as damaged ones).

    Raises:
        VaultCorrupt: the key does not open the file, or it is not a database.
    """
    conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        conn.execute(_QUIET_LOG)
        conn.execute(_key_pragma(dek))
        for pragma in _SALVAGE_PRAGMAS if salvage else ():
            conn.execute(pragma)
        for pragma in _CONNECTION_PRAGMAS:
            conn.execute(pragma)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        conn.close()
        raise VaultCorrupt(
            f"{path.name} cannot be opened with this vault's key: it is damaged or belongs to "
            f"another vault ({exc})"
        ) from None
    return conn


def _driver_damage(exc: BaseException) -> BaseException | None:
    """The driver's error under ``exc`` (SQLAlchemy wraps it) if it says a page of the
    database failed its check: SQLCipher's HMAC, or SQLite's own structure checks."""
    seen: BaseException | None = exc
    for _ in range(8):  # a driver error is at most a wrapper or two down
        if seen is None or isinstance(seen, VaultDamaged):
            break
        code = getattr(seen, "sqlite_errorcode", None)
        if isinstance(code, int) and (
            code & 0xFF in _DAMAGE_CODES or str(seen) in _DAMAGE_MESSAGES
        ):
            return seen
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says that a page of the database is damaged."""
    return _driver_damage(exc) is not None


def damaged(exc: BaseException) -> VaultDamaged:
    """The one-line error for a read or write that hit a damaged page."""
    cause = _driver_damage(exc) or exc
    return VaultDamaged(f"{DB_FILE} is damaged: a page fails its check ({cause}); {DAMAGE_HINT}")


RawConnection = Any
"""A keyed DB-API (sqlcipher3) connection: the ingest hot path and the quick read-only
commands run on it, because SQLAlchemy's per-statement overhead was most of an import's time."""


class Conn(Protocol):
    """An open connection to the vault, as ``Store.begin()``, ``read()`` and ``reader()`` hand
    it out (SQLAlchemy's or the driver's): opaque, so SQL runs on it only through this
    module's ``execute``, ``executemany`` and ``stream``."""

    def close(self) -> None:
        """Close the connection (for one made by ``connect_raw``; the store closes its own)."""


class Row(tuple[Any, ...]):
    """A result row read by position (``row[0]``), by name (``row.id``) or key (``row["id"]``),
    as SQLAlchemy's rows and row mappings are, so query code reads both alike."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return tuple.__getitem__(self, self._index[name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def mapping(self) -> dict[str, Any]:
        """The row as a dict of column name to value, in column order."""
        return {name: tuple.__getitem__(self, n) for name, n in self._index.items()}


_ROW_TYPES: dict[tuple[str, ...], type[Row]] = {}


def _row_type(cursor: Any) -> type[Row]:
    names = tuple(d[0] for d in cursor.description or ())
    row_type = _ROW_TYPES.get(names)
    if row_type is None:
        index: dict[str, int] = {}
        for n, name in enumerate(names):  # in column order; the first of a repeated name wins
            index.setdefault(name, n)
        row_type = _ROW_TYPES[names] = type("Row", (Row,), {"__slots__": (), "_index": index})
    return row_type


class Rows:
    """The rows of one statement, fetched at once: ``all()``, ``first()``, ``one()``,
    ``scalar()`` or iteration; for a write, ``rowcount`` and ``lastrowid``."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, cursor: Any) -> None:
        self.rowcount: int = cursor.rowcount
        """Rows changed by an INSERT, UPDATE or DELETE (-1 for other statements)."""
        self.lastrowid: int | None = cursor.lastrowid
        """The rowid of the row an INSERT added."""
        description = cursor.description
        if description:
            row_type = _row_type(cursor)
            self._rows = [row_type(values) for values in cursor.fetchall()]
        else:
            self._rows = []

    def all(self) -> list[Row]:
        """Every row."""
        return self._rows

    def first(self) -> Row | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def one(self) -> Row:
        """The one row a statement must give (an aggregate, a lookup by primary key).

        Raises:
            LookupError: there was no row, or more than one.
        """
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self._rows[0][0] if self._rows else None

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


def _dbapi(conn: Conn) -> RawConnection:
    if isinstance(conn, sqlcipher3.Connection):
        return conn
    sa_conn = cast("Connection", conn)
    if not sa_conn.in_transaction():
        sa_conn.begin()  # as SQLAlchemy would on its first statement: one snapshot per read()
    return sa_conn.connection.driver_connection


def driver(conn: Conn) -> Conn:
    """The DB-API connection of ``conn`` (itself, or the one under SQLAlchemy's), inside the
    caller's transaction: the ingest holds it for a batch, so its many small statements go
    through ``execute`` with none of SQLAlchemy's per-statement cost."""
    return cast(Conn, _dbapi(conn))


def execute(conn: Conn, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Rows:
    """Run ``sql`` (``:name`` or ``?`` parameters) on any connection of the store, inside
    the caller's transaction, and fetch its rows.

    One copy of each query's SQL serves the app (SQLAlchemy connections), the quick CLI path
    and the ingest (plain DB-API), without loading SQLAlchemy for the latter two.
    """
    return Rows(_dbapi(conn).execute(sql, params))


def executemany(conn: Conn, sql: str, params: Iterable[Mapping[str, Any] | Sequence[Any]]) -> int:
    """Run one write statement for each set of ``params``; returns the rows it changed."""
    return int(_dbapi(conn).executemany(sql, params).rowcount)


def stream(
    conn: Conn, sql: str, params: Mapping[str, Any] | Sequence[Any] = (), *, size: int = 5000
) -> Iterator[list[Row]]:
    """The rows of a large result in chunks of ``size``, never all at once in memory."""
    cursor = _dbapi(conn).execute(sql, params)
    row_type = _row_type(cursor)
    while chunk := cursor.fetchmany(size):
        yield [row_type(values) for values in chunk]


@dataclass
class Store:
    """An open vault database."""

    folder: Path
    _dek: bytes = field(repr=False)
    _engine: Engine | None = field(default=None, repr=False)
    _idle: list[RawConnection] = field(default_factory=list, repr=False)
    _making: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _watcher: RawConnection | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, made (and SQLAlchemy imported) on first use."""
        with self._making:  # the app's first workers may ask at the same moment
            if self._engine is None:
                self._engine = _make_engine(db_path(self.folder), self._dek)
            return self._engine

    @contextmanager
    def begin(self) -> Iterator[Conn]:
        """A connection inside one transaction, committed on success, rolled back on error.

        The transaction takes SQLite's write lock at once (``BEGIN IMMEDIATE``): a deferred
        one that read first fails at its first write, without waiting, when another process
        writes meanwhile. So a short write waits up to the busy timeout for an import's batch.

        Raises:
            VaultBusy: another process kept the vault busy past the busy timeout; nothing of
                this transaction was written.
            VaultDamaged: the work hit a damaged page (nothing was committed).
        """
        with _busy_ends(), self.engine.connect() as conn, _damage_ends(conn):
            conn.execution_options(**{_WRITING: True})
            with conn.begin():
                yield conn

    @contextmanager
    def writer(self) -> Iterator[Conn]:
        """``begin`` on a plain DB-API connection: one write transaction (``BEGIN
        IMMEDIATE``), committed on success, rolled back on error, for ``execute`` and the
        ingest; it never loads SQLAlchemy (measured: its import was a quarter of a second of
        the importing process's start, before the first mail was parsed).

        Raises:
            VaultBusy: another process kept the vault busy past the busy timeout; nothing of
                this transaction was written.
            VaultDamaged: the work hit a damaged page (nothing was committed).
        """
        conn = self._idle.pop() if self._idle else connect_raw(db_path(self.folder), self._dek)
        with _busy_ends():
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if is_damage(exc) or not _rolled_back(conn):
                    conn.close()  # SQLCipher keeps failing on a connection that met a bad page
                    if is_damage(exc):
                        raise damaged(exc) from exc
                    raise
                self._idle.append(conn)
                raise
            self._idle.append(conn)

    @contextmanager
    def read(self) -> Iterator[Conn]:
        """A connection for reading.

        Raises:
            VaultDamaged: a read hit a damaged page.
        """
        with self.engine.connect() as conn, _damage_ends(conn):
            yield conn

    @contextmanager
    def reader(self) -> Iterator[Conn]:
        """A plain DB-API connection reading one consistent snapshot, for ``execute`` and the
        query functions; it never loads SQLAlchemy (the quick path of read-only commands).

        Raises:
            VaultDamaged: a read hit a damaged page.
        """
        conn = self._idle.pop() if self._idle else connect_raw(db_path(self.folder), self._dek)
        conn.execute("BEGIN")
        try:
            yield conn
        except Exception as exc:
            if not is_damage(exc):
                raise
            conn.close()  # SQLCipher keeps failing on a connection that met a bad page
            conn = None
            raise damaged(exc) from exc
        finally:
            if conn is not None:
                conn.execute("ROLLBACK")
                self._idle.append(conn)

    def data_version(self) -> int:
        """A number that changes whenever anything is committed to the vault, by this process
        or another (an import in a terminal): the app looks at it to refresh what it shows.

        ``PRAGMA data_version`` counts commits by other connections than the one asking, so
        it is asked on a connection of its own that never writes.
        """
        with self._making:
            if self._watcher is None:
                self._watcher = connect_raw(db_path(self.folder), self._dek)
            return int(self._watcher.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        """Close every connection (checkpointing the WAL)."""
        with self._making:  # not while the app's watch asks it
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
        while self._idle:
            self._idle.pop().close()
        if self._engine is not None:
            self._engine.dispose()


def _rolled_back(conn: RawConnection) -> bool:
    """Roll back ``conn``'s open transaction, if any; False if even that failed."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlcipher3.Error:
        return False
    return True


@contextmanager
def _busy_ends() -> Iterator[None]:
    """Turn SQLite's "database is locked" (the busy timeout passed) into ``VaultBusy``."""
    try:
        yield
    except VaultDamaged:
        raise
    except Exception as exc:
        if "database is locked" not in str(getattr(exc, "orig", exc)):
            raise
        raise VaultBusy(
            "the vault is busy (another kluis is writing to it); this change was not "
            "made, try again in a moment"
        ) from None


@contextmanager
def _damage_ends(conn: Connection) -> Iterator[None]:
    """Turn a damaged page met on ``conn`` into ``VaultDamaged``, and keep the pool from
    handing the connection out again (SQLCipher keeps failing on one that met a bad page)."""
    try:
        yield
    except Exception as exc:
        if not is_damage(exc):
            raise
        conn.invalidate()
        raise damaged(exc) from exc


def _make_engine(path: Path, dek: bytes) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import QueuePool

    engine = create_engine(
        "sqlite://",
        creator=lambda: connect_raw(path, dek),
        module=sqlcipher3.dbapi2,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
    )

    # pysqlite-style drivers begin transactions lazily and badly; take control as SQLAlchemy's
    # SQLite docs recommend: autocommit at the driver, explicit BEGIN from SQLAlchemy.
    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get(_WRITING, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def create_store(folder: Path, dek: bytes, vault_id: str) -> Store:
    """Create a new, empty vault database in ``folder`` and lay out the schema."""
    from vault.migrations import migrate

    make_private_folder(folder)
    path = db_path(folder)
    create_private_file(path)
    store = Store(folder, dek)
    with store.begin() as conn:
        migrate(conn)
        execute(conn, "INSERT INTO meta(key, value) VALUES ('vault_id', :v)", {"v": vault_id})
    return store


def _say_upgrading() -> None:
    if sys.stderr.isatty():
        print(
            "kluis: upgrading this vault to the new kluis (once; a large vault takes a few "
            "minutes, and an interrupted upgrade starts again next time)…",
            file=sys.stderr,
            flush=True,
        )


def _settle_outbox(path: Path, dek: bytes) -> None:
    """Take back the share packages and letters that killed runs left half-written."""
    from vault import outbox

    conn = connect_raw(path, dek)
    try:
        conn.execute("PRAGMA busy_timeout = 200")  # a start never waits for another's write
        outbox.settle(conn)
    except sqlcipher3.OperationalError:
        pass  # another kluis is writing: the next start settles them (reads never wait)
    finally:
        conn.close()


def open_store(
    folder: Path, dek: bytes, vault_id: str, *, upgrading: Callable[[], None] = _say_upgrading
) -> Store:
    """Open the vault database in ``folder``, migrating it if this kluis is newer.

    ``upgrading`` is called before an existing vault is migrated (by default a line on a
    terminal's stderr; the app shows it in its status line instead). A share package or letter
    that a killed run left half-written is taken back (``vault.outbox``).

    Raises:
        VaultCorrupt: the database is missing, damaged, from another vault, or from a newer kluis.
    """
    from vault import outbox
    from vault.migrations import SCHEMA_VERSION, current_version, migrate

    path = db_path(folder)
    if not path.exists():
        raise VaultCorrupt(f"{path} is missing: keys.json is there but the database is not")
    if path.stat().st_size == 0:
        # SQLCipher would take an empty file for a new database and write a header into it.
        raise VaultCorrupt(f"{path} is empty: the database was truncated or never written")
    store = Store(folder, dek)
    try:
        with store.reader() as conn:
            version = current_version(conn)
            if version > SCHEMA_VERSION:
                raise VaultCorrupt(
                    f"this vault was written by a newer kluis (schema {version}); update kluis"
                )
            stored_id = (
                execute(conn, "SELECT value FROM meta WHERE key='vault_id'").scalar()
                if version
                else None
            )
            if stored_id != vault_id:
                raise VaultCorrupt(f"{path.name} does not belong to this vault's keys.json")
            unsettled = bool(version) and outbox.unsettled(conn)
        if version < SCHEMA_VERSION:
            if version:
                upgrading()  # migrations 3 and 4 rebuild the search index: minutes at 1M items
            with store.begin() as conn:
                migrate(conn)  # checks the version again inside its transaction
        if unsettled:
            _settle_outbox(path, dek)
    except BaseException:
        store.close()
        raise
    return store
