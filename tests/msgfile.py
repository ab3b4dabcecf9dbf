"""Outlook ``.msg`` files for tests, written from scratch: an OLE2 compound file (MS-CFB v3,
512-byte sectors, a mini stream for streams under 4 KiB) holding MAPI property streams (MS-OXMSG).

No public ``.msg`` sample may be copied into the repository with a clear licence, so the tests
build theirs: ``msg_bytes`` takes the properties as Outlook stores them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Node:
    """A storage (``children``) or a stream (``data``) of the compound file."""

    name: str
    data: bytes | None = None
    children: list[Node] = field(default_factory=list)


def compound_file(children: list[Node]) -> bytes:
    """The bytes of an OLE2 file whose root storage holds ``children``."""
    entries: list[tuple[Node, int]] = []  # (node, kind) in directory order

    def add(node: Node, kind: int) -> int:
        entries.append((node, kind))
        return len(entries) - 1

    root = Node("Root Entry", children=children)
    add(root, 5)
    links: dict[int, tuple[int, int]] = {}  # index → (child, right sibling)

    def walk(index: int, node: Node) -> None:
        ids = [add(c, 1 if c.data is None else 2) for c in node.children]
        for position, child_id in enumerate(ids):
            right = ids[position + 1] if position + 1 < len(ids) else NOSTREAM
            links[child_id] = (links.get(child_id, (NOSTREAM, NOSTREAM))[0], right)
        links[index] = (ids[0] if ids else NOSTREAM, links.get(index, (NOSTREAM, NOSTREAM))[1])
        for child_id, child in zip(ids, node.children, strict=True):
            if child.data is None:
                walk(child_id, child)

    walk(0, root)
    # Mini stream: small streams in 64-byte mini sectors.
    mini = bytearray()
    minifat: list[int] = []
    starts: dict[int, tuple[int, int]] = {}  # index → (start sector, size)
    big: list[tuple[int, bytes]] = []
    for index, (node, kind) in enumerate(entries):
        if kind != 2:
            continue
        data = node.data or b""
        if len(data) >= CUTOFF:
            big.append((index, data))
            continue
        if not data:
            starts[index] = (END, 0)
            continue
        count = -(-len(data) // MINI)
        first = len(minifat)
        minifat += [first + i + 1 for i in range(count - 1)] + [END]
        mini += data.ljust(count * MINI, b"\x00")
        starts[index] = (first, len(data))
    # Regular sectors: directory, mini FAT, mini stream, big streams; then the FAT in front.
    dir_sectors = -(-(128 * len(entries)) // SECTOR)
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    pieces = [("dir", dir_sectors), ("minifat", -(-len(minifat_bytes) // SECTOR))]
    pieces.append(("mini", -(-len(mini) // SECTOR)))
    pieces += [(f"big{i}", -(-len(d) // SECTOR)) for i, d in big]
    other = sum(n for _, n in pieces)
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < other + fat_sectors:
        fat_sectors += 1
    fat = [FATSECT] * fat_sectors
    first_of: dict[str, int] = {}
    for name, n in pieces:
        first_of[name] = len(fat) if n else END
        fat += [len(fat) + i + 1 for i in range(n - 1)] + ([END] if n else [])
    fat += [FREE] * (fat_sectors * (SECTOR // 4) - len(fat))
    root_start = first_of["mini"]
    for index, data in big:
        starts[index] = (first_of[f"big{index}"], len(data))
    starts[0] = (root_start, len(mini)) if mini else (END, 0)
    directory = b"".join(
        _entry(node, kind, *links.get(i, (NOSTREAM, NOSTREAM)), *starts.get(i, (0, 0)))
        for i, (node, kind) in enumerate(entries)
    )
    body = {
        "dir": directory,
        "minifat": minifat_bytes,
        "mini": bytes(mini),
        **{f"big{i}": d for i, d in big},
    }
    sectors = b"".join(struct.pack("<I", v) for v in fat)
    for name, n in pieces:
        sectors += body[name].ljust(n * SECTOR, b"\x00")
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header = MAGIC + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIII", 0, fat_sectors, first_of["dir"], 0)
    header += struct.pack(
        "<IIIII", CUTOFF, first_of["minifat"], -(-len(minifat_bytes) // SECTOR), END, 0
    )
    header += b"".join(struct.pack("<I", v) for v in difat)
    assert len(header) == SECTOR, len(header)
    return header + sectors


def _entry(node: Node, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    name = node.name.encode("utf-16-le") + b"\x00\x00"
    return (
        name.ljust(64, b"\x00")
        + struct.pack("<HBB", len(name), kind, 1)
        + struct.pack("<III", NOSTREAM, right, child)
        + b"\x00" * 16
        + struct.pack("<I", 0)
        + b"\x00" * 16
        + struct.pack("<IQ", start if kind != 1 else 0, size)
    )


# --- MAPI properties (MS-OXMSG) ------------------------------------------------------------------


def text(prop: int, value: str, unicode: bool = True) -> Node:
    """A string property stream (``001F`` UTF-16, or ``001E`` 8-bit cp1252)."""
    if unicode:
        return Node(f"__substg1.0_{prop:04X}001F", value.encode("utf-16-le"))
    return Node(f"__substg1.0_{prop:04X}001E", value.encode("cp1252"))


def binary(prop: int, value: bytes) -> Node:
    """A binary property stream (``0102``)."""
    return Node(f"__substg1.0_{prop:04X}0102", value)


def properties(header: int, fixed: dict[int, tuple[int, bytes]]) -> Node:
    """The ``__properties_version1.0`` stream: ``header`` bytes, then 16 bytes a property."""
    entries = b"".join(
        struct.pack("<II", (prop << 16) | kind, 6) + value.ljust(8, b"\x00")
        for prop, (kind, value) in fixed.items()
    )
    return Node("__properties_version1.0", b"\x00" * header + entries)


def filetime(when: datetime) -> tuple[int, bytes]:
    """A PT_SYSTIME value."""
    ticks = int((when - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
    return (0x0040, struct.pack("<Q", ticks))


def recipient(number: int, name: str, address: str, kind: int = 1) -> Node:
    """A recipient storage: display name, SMTP address, To (1) / Cc (2) / Bcc (3)."""
    return Node(
        f"__recip_version1.0_#{number:08X}",
        children=[
            properties(8, {0x0C15: (0x0003, struct.pack("<i", kind))}),
            text(0x3001, name),
            text(0x39FE, address),
        ],
    )


def attachment(number: int, name: str, mime: str, data: bytes) -> Node:
    """An attachment storage with its bytes."""
    return Node(
        f"__attach_version1.0_#{number:08X}",
        children=[
            properties(8, {0x3705: (0x0003, struct.pack("<i", 1))}),
            text(0x3707, name),
            text(0x370E, mime),
            binary(0x3701, data),
        ],
    )


def embedded(number: int, name: str, message: list[Node]) -> Node:
    """An attachment that is a message itself (attach method 5, a ``3701000D`` storage)."""
    return Node(
        f"__attach_version1.0_#{number:08X}",
        children=[
            properties(8, {0x3705: (0x0003, struct.pack("<i", 5))}),
            text(0x3707, name),
            Node("__substg1.0_3701000D", children=message),
        ],
    )


def message(
    *,
    subject: str,
    body: str,
    sender: tuple[str, str] | None = None,
    when: datetime | None = None,
    headers: str | None = None,
    html: str | None = None,
    recipients: list[Node] | None = None,
    attachments: list[Node] | None = None,
    unicode: bool = True,
    top: bool = True,
) -> list[Node]:
    """The streams and storages of a message (``top``: the file's own, else an embedded one)."""
    fixed: dict[int, tuple[int, bytes]] = {}
    if when is not None:
        fixed[0x0E06] = filetime(when)
    if not unicode:
        fixed[0x3FFD] = (0x0003, struct.pack("<i", 1252))
    nodes = [properties(32 if top else 24, fixed), text(0x0037, subject, unicode)]
    nodes.append(text(0x1000, body, unicode))
    if sender is not None:
        nodes += [text(0x0C1A, sender[0], unicode), text(0x5D01, sender[1], unicode)]
    if headers is not None:
        nodes.append(text(0x007D, headers, unicode))
    if html is not None:
        nodes.append(binary(0x1013, html.encode()))
    nodes += recipients or []
    nodes += attachments or []
    return nodes


def msg_bytes(**kwargs: object) -> bytes:
    """A whole ``.msg`` file of one message (the arguments of ``message``)."""
    return compound_file(message(**kwargs))  # type: ignore[arg-type]


HEADERS = (
    "Received: from mail.bol.com (mail.bol.com [185.14.168.10])\r\n"
    "\tby mx.example.org with ESMTPS; Tue, 03 Dec 2024 10:15:02 +0100\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=bol.com; s=sel1; h=from:to:subject; b=AbC=\r\n"
    "From: bol <noreply@bol.com>\r\n"
    "To: Anna de Boer <anna@example.org>\r\n"
    "Subject: Je bestelling 4152367890 is verzonden\r\n"
    "Date: Tue, 03 Dec 2024 10:15:00 +0100\r\n"
    "Message-ID: <verzonden-4152367890@bol.com>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="----=_Part_1_2"\r\n'
)


def fixtures() -> dict[str, bytes]:
    """The ``.msg`` files of ``tests/fixtures/msg`` (``python -m tests.msgfile`` writes them)."""
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    earlier = message(
        subject="Je bestelling 4152367890 is ontvangen",
        body="Bedankt voor je bestelling.",
        sender=("bol", "noreply@bol.com"),
        when=datetime(2024, 12, 1, 20, 4, tzinfo=UTC),
        top=False,
    )
    return {
        "bol-verzonden-headers.msg": msg_bytes(
            subject="Je bestelling 4152367890 is verzonden",
            body="Hoi Anna,\r\n\r\nJe pakket is onderweg met PostNL: 3SABCD1234567.\r\n",
            html="<p>Hoi Anna,</p><p>Je pakket is onderweg met PostNL: 3SABCD1234567.</p>",
            sender=("bol", "noreply@bol.com"),
            when=datetime(2024, 12, 3, 9, 15, 2, tzinfo=UTC),
            headers=HEADERS,
            recipients=[recipient(0, "Anna de Boer", "anna@example.org")],
            attachments=[
                attachment(0, "factuur-4152367890.pdf", "application/pdf", pdf),
                embedded(1, "Je bestelling is ontvangen.msg", earlier),
            ],
        ),
        "eneco-jaarnota-ansi.msg": msg_bytes(
            subject="Uw jaarnota 2024 – € 1.234,56 terug",
            body="Geachte heer/mevrouw,\r\n\r\nUw jaarnota staat klaar. Bedrag: € 1.234,56.\r\n",
            sender=("Eneco Klantenservice", "klantenservice@eneco.nl"),
            when=datetime(2024, 12, 5, 8, 0, tzinfo=UTC),
            recipients=[
                recipient(0, "Anna de Boer", "anna@example.org"),
                recipient(1, "Bas de Boer", "bas@example.org", kind=2),
            ],
            unicode=False,
        ),
    }


if __name__ == "__main__":
    from pathlib import Path

    folder = Path(__file__).parent / "fixtures" / "msg"
    folder.mkdir(exist_ok=True)
    for name, data in fixtures().items():
        (folder / name).write_bytes(data)
