"""The layout of the full-text index: one FTS5 table per period of time, newest searched first.

Every row's FTS rowid is its time key, ``(occurred_at << 30) + id`` (schema 3), so an index
yields hits newest first and "ORDER BY rowid DESC LIMIT 50" stops after 50 hits. What that
cannot make cheap is a prefix of four letters or more (``verzek*``): FTS5 reads and merges the
whole doclist of every word that starts with it before it returns the first row, 100 ms at
1,000,000 items. Schema 4 therefore splits the index by time into periods of 2**25 seconds
(about 13 months), one FTS5 table each (``interaction_fts_p<n>``) over the same content view.
A search asks the newest period first and the next one only while the page is not full, so a
common prefix costs what one period costs and a rare word a few lookups per period.

A period's table and triggers are made when its first item is stored (``ensure_periods``);
a guard trigger refuses an item whose period has no table. New items are indexed by the
writer at the end of each batch, in the batch's transaction (``index_new``): one
``INSERT … SELECT`` per period halves the index's CPU against a trigger per row (measured in
bench/import_floor.py). FTS5 writes its pending terms out as a new segment at every savepoint,
and a statement whose trigger writes to FTS5 opens one, so a trigger per item made a segment
per item, merged again and again. Schema 8 dropped the per-row insert triggers; updates and
deletes still go through per-row triggers, as they are few.
"""

from __future__ import annotations

from collections.abc import Iterable

from vault.store import Conn, execute

ID_BITS = 30
TIME_LIMIT = 1 << 32
"""Key times are clamped to [-TIME_LIMIT, TIME_LIMIT - 1] seconds since 1970."""
PERIOD_BITS = 25
"""A period is 2**25 seconds (388 days); the 256 possible periods cover 1833-2106."""
FTS_ID = f"(rowid & {(1 << ID_BITS) - 1})"
"""SQL giving the interaction id of a row of a period's FTS table."""
FTS_TEXT_COLUMNS = "{title body counterpart}"
"""The FTS5 column filter of the text a user searches (not ``scope``)."""
PREFIX_INDEX = "2 3"
"""The prefix lengths each period's FTS5 table indexes (``prefix=``), so "re*" is a lookup."""
PERIODS = "interaction_fts_period"
"""The table listing which periods have an FTS table."""
_OFFSET = TIME_LIMIT >> PERIOD_BITS  # table numbers run 0-255, never negative


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 string (a phrase): quoted, its own quotes doubled, so no word of it
    is read as an operator (``OR``, ``NEAR``, ``-``, a column filter)."""
    return '"' + text.replace('"', '""') + '"'


def time_key(epoch: int) -> int:
    """The smallest search key of an item at ``epoch`` seconds (for date ranges)."""
    return _clamp(epoch) << ID_BITS


def period_of(epoch: int) -> int:
    """The period an item at ``epoch`` seconds belongs to."""
    return _clamp(epoch) >> PERIOD_BITS


def period_of_key(key: int) -> int:
    """The period a time key (``time_key`` or an FTS rowid) falls in."""
    return key >> (PERIOD_BITS + ID_BITS)


def period_table(period: int) -> str:
    """The FTS5 table holding ``period``'s items."""
    return f"interaction_fts_p{period + _OFFSET}"


def period_keys(period: int) -> tuple[int, int]:
    """The lowest and highest time key of ``period`` (both inclusive)."""
    low = period << (PERIOD_BITS + ID_BITS)
    return low, low + (1 << (PERIOD_BITS + ID_BITS)) - 1


def _clamp(epoch: int) -> int:
    return min(max(epoch, -TIME_LIMIT), TIME_LIMIT - 1)


def _clamped(row: str) -> str:
    return f"min(max({row}occurred_at, {-TIME_LIMIT}), {TIME_LIMIT - 1})"


def key_sql(row: str = "") -> str:
    """SQL of the time key of ``row`` ("new.", "old." or "" for the table itself)."""
    return f"{_clamped(row)} * {1 << ID_BITS} + {row}id"


def _period_sql(row: str) -> str:
    return f"({_clamped(row)} >> {PERIOD_BITS})"


def fts_values(row: str = "") -> str:
    """The FTS row (key, title, body, counterpart, scope) of ``row``."""
    return (
        f"{key_sql(row)}, {row}title, {row}body, {row}counterpart, "
        f"'c' || {row}company_id || ' ' || {row}channel"
    )


_COLUMNS = "rowid, title, body, counterpart, scope"
_WATCHED = "title, body, counterpart, occurred_at, company_id, channel"

SEARCH_VIEW_SQL = (
    "CREATE VIEW interaction_search(search_key, title, body, counterpart, scope) AS "
    f"SELECT {fts_values()} FROM interaction"
)
"""The view every period's FTS5 table reads its text through, by time key (schema 3)."""

GUARD_TRIGGERS = [
    f"""CREATE TRIGGER interaction_fts_guard BEFORE INSERT ON interaction
        WHEN NOT EXISTS (SELECT 1 FROM {PERIODS} WHERE id = {_period_sql("new.")}) BEGIN
        SELECT RAISE(ABORT, 'no search index for this date: call ensure_periods first');
    END""",
    f"""CREATE TRIGGER interaction_fts_guard_move BEFORE UPDATE OF occurred_at ON interaction
        WHEN NOT EXISTS (SELECT 1 FROM {PERIODS} WHERE id = {_period_sql("new.")}) BEGIN
        SELECT RAISE(ABORT, 'no search index for this date: call ensure_periods first');
    END""",
]
"""The triggers refusing an item whose period has no table."""

GUARD_SQL = [f"CREATE TABLE {PERIODS} (id INTEGER PRIMARY KEY)", *GUARD_TRIGGERS]
"""The list of periods and its guard triggers, as schema 4 added them."""


def period_sql(period: int) -> list[str]:
    """The statements making ``period``'s table and triggers and indexing its stored items.

    Items stored later are indexed by ``index_new``, which their writer calls."""
    table = period_table(period)
    mine = f"{_period_sql('new.')} = {period}"
    was_mine = f"{_period_sql('old.')} = {period}"
    low, high = period_keys(period)
    return [
        f"""CREATE VIRTUAL TABLE {table} USING fts5(
            title, body, counterpart, scope, content='interaction_search',
            content_rowid='search_key', tokenize='unicode61 remove_diacritics 2',
            prefix='{PREFIX_INDEX}')""",
        f"""CREATE TRIGGER {table}_delete AFTER DELETE ON interaction WHEN {was_mine} BEGIN
            INSERT INTO {table}({table}, {_COLUMNS}) VALUES ('delete', {fts_values("old.")});
        END""",
        # An item whose date changes may move to another period's table: each side checks.
        f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {_WATCHED} ON interaction
            WHEN {was_mine} OR {mine} BEGIN
            INSERT INTO {table}({table}, {_COLUMNS})
                SELECT 'delete', {fts_values("old.")} WHERE {was_mine};
            INSERT INTO {table}({_COLUMNS}) SELECT {fts_values("new.")} WHERE {mine};
        END""",
        f"INSERT INTO {PERIODS}(id) VALUES ({period})",
        f"INSERT INTO {table}({_COLUMNS}) SELECT {_COLUMNS.replace('rowid', 'search_key')} "
        f"FROM interaction_search WHERE search_key BETWEEN {low} AND {high}",
    ]


def ensure_periods(conn: Conn, epochs: Iterable[int]) -> None:
    """Make the FTS tables of the periods of ``epochs`` that have none yet."""
    wanted = {period_of(epoch) for epoch in epochs}
    if not wanted:
        return
    have = {int(row[0]) for row in execute(conn, f"SELECT id FROM {PERIODS}").all()}
    for period in sorted(wanted - have):
        for statement in period_sql(period):
            execute(conn, statement)


def insert_trigger(period: int) -> str:
    """The name of the per-row insert trigger ``period``'s table had before schema 8."""
    return f"{period_table(period)}_insert"


def last_id(conn: Conn) -> int:
    """The highest interaction id stored (0 if none): what ``index_new`` indexes after."""
    return int(execute(conn, "SELECT coalesce(max(id), 0) FROM interaction").scalar())


def index_new(conn: Conn, after_id: int) -> None:
    """Index every item stored after ``after_id`` (``last_id`` before this transaction stored
    any), one ``INSERT … SELECT`` per period. Call it in the transaction that stored them, so
    the index commits with the items: a new item's id is above every id before it (SQLite
    gives max(id) + 1 and the writer holds the write lock), and no item is indexed twice."""
    new = {"after": after_id}
    shift = PERIOD_BITS + ID_BITS
    found = execute(
        conn, f"SELECT DISTINCT ({key_sql()}) >> {shift} FROM interaction WHERE id > :after", new
    ).all()
    for (period,) in found:
        low, high = period_keys(int(period))
        execute(
            conn,
            f"INSERT INTO {period_table(int(period))}({_COLUMNS}) SELECT {fts_values()} "
            f"FROM interaction WHERE id > :after AND {key_sql()} BETWEEN :low AND :high",
            {**new, "low": low, "high": high},
        )


def periods(conn: Conn, low_key: int | None = None, high_key: int | None = None) -> list[int]:
    """The periods with an FTS table, newest first, overlapping [low_key, high_key) if given."""
    low = -_OFFSET if low_key is None else period_of_key(low_key)
    high = _OFFSET if high_key is None else period_of_key(high_key - 1)
    rows = execute(
        conn,
        f"SELECT id FROM {PERIODS} WHERE id BETWEEN :low AND :high ORDER BY id DESC",
        {"low": low, "high": high},
    ).all()
    return [int(row[0]) for row in rows]
