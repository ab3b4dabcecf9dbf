"""What an import holds in memory that it does not need: each of its processes (the importing
one, every parse worker) pays for what it loads, so tables loaded once per process are kept
to what is used."""

from __future__ import annotations

import tracemalloc

from importers.bookings import airports


def test_the_airport_table_holds_only_codes_and_zones() -> None:
    # It used to keep every airport of airportsdata's table as a dict: 7.7 MB in each process.
    airports._airports.cache_clear()
    tracemalloc.start()
    try:
        table = airports._airports()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2 * 2**20
    assert len(table) > 7000
    assert str(airports.airport_zone("AMS")) == "Europe/Amsterdam"
    assert str(airports.airport_zone(" jfk ")) == "America/New_York"
    assert airports.airport_zone("ZZZ") is None
    assert airports.is_airport("LHR") and not airports.is_airport("")
