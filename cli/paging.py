"""``--limit``, ``--offset`` and ``--all`` of every list command, and the note of what a page
left out: a list cut short always says so on stderr, so stdout (a table or a JSON list) stays
the same shape and nothing is dropped in silence.

``--limit 0`` means no limit, as restic's limits do; ``--all`` says the same in words.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def _count(text: str) -> int:
    """A whole number of 0 or more, for argparse (a usage error names the problem)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def add_paging(parser: argparse.ArgumentParser, *, default: int | None) -> None:
    """``--limit N``, ``--offset N`` and ``--all`` on a list command.

    Args:
        parser: the command's parser.
        default: the limit when none is given; None lists everything.
    """
    shown = f"default {default}" if default else "default: all"
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--limit",
        type=_count,
        default=default,
        metavar="N",
        help=f"show at most N ({shown}; 0 means all); stderr says how many more there are",
    )
    parser.add_argument(
        "--offset",
        type=_count,
        default=0,
        metavar="N",
        help="skip the first N (the next page: --offset 50 after the first 50)",
    )
    size.add_argument(
        "--all", action="store_true", help="show everything (streamed: memory stays small)"
    )


@dataclass(frozen=True, slots=True)
class Page:
    """Which rows of a list to show: from ``offset``, at most ``limit`` (None: all)."""

    offset: int
    limit: int | None

    @classmethod
    def of(cls, args: argparse.Namespace) -> Page:
        """The page the arguments ask for."""
        limit = None if args.all or not args.limit else args.limit
        return cls(args.offset, limit)

    def cut(self, rows: Iterable[T]) -> Iterator[T]:
        """The page's rows of ``rows`` (read no further than the page needs)."""
        stop = None if self.limit is None else self.offset + self.limit
        return itertools.islice(rows, self.offset, stop)

    def say_rest(self, shown: int, total: Callable[[], int]) -> None:
        """Tell stderr how many rows come after the page, if any (``total`` is asked only when
        the page was full, so a complete list costs no count)."""
        if self.limit is None or shown < self.limit:
            return
        after = total() - self.offset - shown
        if after > 0:
            next_page = self.offset + shown
            print(
                f"… {after:,} more (--offset {next_page} for the next {self.limit}, --all for "
                "everything)",
                file=sys.stderr,
            )
