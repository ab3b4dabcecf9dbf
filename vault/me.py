"""Who "me" is when the user did not say: the address most mail in a mailbox was sent to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import islice

from vault.records import Interaction, Item

SAMPLE_SIZE = 300
MIN_SHARE = 0.3
MIN_COUNT = 3


def most_frequent_recipient(items: Iterable[Item], sample: int = SAMPLE_SIZE) -> str | None:
    """The recipient address of at least 30% of the first ``sample`` mails, if there is one.

    A personal mailbox is mostly mail *to* its owner; a single newsletter list address or a
    shared mailbox rarely reaches that share, and then nothing is guessed.
    """
    mails = [
        item
        for item in islice(items, sample)
        if isinstance(item, Interaction) and item.channel == "email"
    ]
    counts: Counter[str] = Counter()
    for mail in mails:
        counts.update({p.address.casefold() for p in mail.recipients if p.address})
    if not counts:
        return None
    address, seen = counts.most_common(1)[0]
    return address if seen >= MIN_COUNT and seen >= MIN_SHARE * len(mails) else None
