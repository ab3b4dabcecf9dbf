"""A parsed mail's header fields are looked up by name from a table, and that table follows
every change of the fields: what ``get`` and ``in`` answer is what the stdlib's ``Message``
answers, before and after each way of changing them."""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

import pytest

from importers.email.mime import PARSER, RAW_HEADERS

MAIL = (
    b"Received: from a\nReceived: from b\nFrom: Anna <anna@example.com>\n"
    b"Subject: Scan\nsubject: a second one\nContent-Type: text/plain; charset=utf-8\n"
    b"X-Empty:\n\nHoi\n"
)
NAMES = ("received", "From", "SUBJECT", "subject", "content-type", "x-empty", "X-Missing", "")


def _only_from(message: Message) -> None:
    for name in set(message.keys()):
        del message[name]
    message["From"] = "x@y"


CHANGES: dict[str, Callable[[Message], None]] = {
    "none": lambda m: None,
    "a field added": lambda m: m.__setitem__("X-New", "1"),
    "a field added raw": lambda m: m.set_raw("Subject", "a third"),
    "fields deleted": lambda m: m.__delitem__("subject"),
    "a field replaced in place": lambda m: m.replace_header("subject", "Other"),
    "a parameter set": lambda m: m.set_param("charset", "latin-1"),
    "a parameter deleted": lambda m: m.del_param("charset"),
    "the type set": lambda m: m.set_type("text/html"),
    "a field added with params": lambda m: m.add_header("X-Pass", "a", name="b"),
    "every field deleted, one added": lambda m: _only_from(m),
}


def _reference() -> Message:
    # The stdlib's own Message with the same policy: the fields as compat32 reads them.
    message = Message(policy=RAW_HEADERS)
    for name, value in PARSER.parsebytes(MAIL).raw_items():
        message.set_raw(name, value)
    return message


@pytest.mark.parametrize("change", CHANGES)
def test_a_header_is_found_as_the_stdlib_finds_it_after_each_change(change: str) -> None:
    ours, theirs = PARSER.parsebytes(MAIL), _reference()
    for message in (ours, theirs):
        [message.get(name) for name in NAMES]  # the table made before the change
        CHANGES[change](message)
    for name in NAMES:
        assert ours.get(name, "absent") == theirs.get(name, "absent"), name
        assert (name in ours) == (name in theirs), name
        assert ours.get_all(name) == theirs.get_all(name), name
    assert ours.get_content_type() == theirs.get_content_type()
    assert ours.get_param("charset") == theirs.get_param("charset")
    assert ours.items() == theirs.items()
