"""mbox mailboxes: split by content while streaming, each message an item ``<mbox>#msg=<n>``.

The mailboxes are written by Python's :mod:`mailbox` (mboxo, as mutt and
Apple Mail write them) or by hand in the other dialects: mboxrd (``>From ``
quoted), Thunderbird (``From - ...``, CRLF, no Content-Length), mboxcl2
(Content-Length, nothing quoted) and Google Takeout (``From <id>@xxx ...``).
People, messages and documents are invented.
"""

from __future__ import annotations

import io
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan.errors import ExtractionError
from leakscan.exports import mbox
from leakscan.exports.expand import Expander, Opened
from leakscan.exports.mail import read_eml
from leakscan.exports.mbox import iter_mbox, looks_like_mbox
from leakscan.records import ErrorRecord, SkippedRecord
from leakscan.walk import Item

SEPARATOR = b"From nadia@example.org Tue Mar  5 09:15:00 2024\n"
THUNDERBIRD = b"From - Tue Mar  5 09:15:00 2024\r\n"
TAKEOUT = b"From 1792650433333333333@xxx Tue Mar 05 09:15:00 +0000 2024\r\n"


def message(
    number: int, body: str = "", sender: str = "Nadia Qureshi <nadia@example.org>"
) -> bytes:
    """A small message as an mbox holds it (LF line ends)."""
    return (
        f"From: {sender}\nTo: omar@example.net\nDate: Tue, 05 Mar 2024 09:1{number % 10}:00 +0500\n"
        f"Subject: note {number}\nMessage-ID: <note-{number}@example.org>\n\n"
        f"{body or f'Note number {number} about the harbour lunch.'}\n"
    ).encode()


def mboxrd(*messages: bytes, separator: bytes = SEPARATOR) -> bytes:
    """Messages written as an mboxrd writer does: ``>*From `` lines get one more ``>``."""
    out = []
    for data in messages:
        quoted = b"\n".join(
            b">" + line if line.lstrip(b">").startswith(b"From ") else line
            for line in data.split(b"\n")
        )
        out.append(separator + quoted + (b"" if quoted.endswith(b"\n") else b"\n") + b"\n")
    return b"".join(out)


def split(data: bytes) -> list[bytes]:
    return [m.data for m in iter_mbox(io.BytesIO(data))]


# --- content check ------------------------------------------------------------


@pytest.mark.parametrize("separator", [SEPARATOR, THUNDERBIRD, TAKEOUT], ids=["mutt", "tb", "gm"])
def test_mailboxes_are_told_by_their_content(separator: bytes) -> None:
    data = separator + b"X-Mozilla-Status: 0001\r\n" + message(1)
    assert looks_like_mbox(data)
    # Cut anywhere inside the first header block, the head still says mbox.
    assert looks_like_mbox(data[: len(separator) + 90])


@pytest.mark.parametrize(
    "data",
    [
        message(1),  # an .eml
        b"From the harbour office we went on to the pier.\nFrom: x\n\n",
        b"From nadia@example.org Tue Mar  5 09:15:00 2024\nDear Omar,\nthe note.\n",
        b"05/03/2024, 09:15 - Nadia: From Tuesday 09:15 on\n",
        b"",
    ],
    ids=["eml", "prose", "no-headers", "chat", "empty"],
)
def test_other_content_is_not_an_mbox(data: bytes) -> None:
    assert not looks_like_mbox(data)


# --- splitting ------------------------------------------------------------------


def test_python_mailbox_messages_come_back_as_the_stdlib_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "Inbox.mbox"
    box = mailbox.mbox(path)
    written = []
    for number in range(1, 6):
        mail = EmailMessage()
        mail["From"] = "نادیہ قریشی <nadia@example.org>"
        mail["Date"] = "Tue, 05 Mar 2024 09:15:00 +0500"
        mail["Subject"] = f"نوٹ {number}"
        mail["Message-ID"] = f"<n{number}@example.org>"
        mail.set_content(f"Message {number}.\nFrom the harbour office, with thanks.\n")
        written.append(box.add(mail))
    box.flush()
    box.close()
    box = mailbox.mbox(path)
    got = split(path.read_bytes())
    assert len(got) == 5
    for key, data in zip(written, got, strict=True):
        # The stdlib quotes the body's "From " line and does not unquote it; we do.
        assert data == box.get_bytes(key).replace(b">From the", b"From the")
        assert read_eml(data).sender == "نادیہ قریشی <nadia@example.org>"
    box.close()


def test_mboxrd_quoting_is_undone_one_level() -> None:
    body = "From the pier we watched.\n>From a quote.\n>>From a quote of a quote.\nfrom lowercase"
    data = mboxrd(message(1), message(2, body), message(3))
    assert b"\n>From the pier" in data and b"\n>>>From a quote of" in data
    got = split(data)
    assert got == [message(1), message(2, body), message(3)]


def test_a_from_line_without_a_date_does_not_split() -> None:
    # A writer that forgot to quote: "From " lines with no weekday and time stay in the body.
    body = "From the harbour office:\nFrom 9 to 5 on Tuesday, said Omar."
    data = SEPARATOR + message(1, body) + b"\n" + SEPARATOR + message(2)
    assert split(data) == [message(1, body), message(2)]


def test_thunderbird_crlf_mailbox() -> None:
    first = message(1).replace(b"\n", b"\r\n")
    second = message(2).replace(b"\n", b"\r\n")
    data = (
        THUNDERBIRD + b"X-Mozilla-Status: 0001\r\n" + first + b"\r\n"
        + THUNDERBIRD + b"X-Mozilla-Status: 0000\r\n" + second
    )  # fmt: skip
    got = split(data)
    assert got == [b"X-Mozilla-Status: 0001\r\n" + first, b"X-Mozilla-Status: 0000\r\n" + second]


def test_takeout_separators() -> None:
    first, second = (message(n).replace(b"\n", b"\r\n") for n in (1, 2))
    assert split(TAKEOUT + first + b"\r\n" + TAKEOUT + second) == [first, second]


def content_length_message(number: int, body: bytes) -> bytes:
    head = message(number).split(b"\n\n", 1)[0]
    return head + f"\nContent-Length: {len(body)}\n\n".encode() + body


def test_mboxcl2_content_length_keeps_unquoted_from_lines_in_the_body() -> None:
    inner = b"Forwarded:\n\n" + SEPARATOR + b"From: someone@example.org\n\nold text\n"
    first = content_length_message(1, inner)
    data = SEPARATOR + first + b"\n" + SEPARATOR + message(2)
    got = list(iter_mbox(io.BytesIO(data)))
    assert [m.data for m in got] == [first, message(2)]
    assert got[0].notes == ()


def test_a_wrong_content_length_is_not_trusted() -> None:
    # Too short: it ends in the middle of a line; too long: it ends inside message 3.
    short = content_length_message(1, b"first body\n").replace(b"Length: 11", b"Length: 4")
    long = content_length_message(2, b"second body\n").replace(b"Length: 12", b"Length: 40")
    data = SEPARATOR + short + b"\n" + SEPARATOR + long + b"\n" + SEPARATOR + message(3)
    got = list(iter_mbox(io.BytesIO(data)))
    assert [m.data for m in got] == [short, long, message(3)]
    assert "does not end where a message does" in got[0].notes[0]
    assert "does not end where a message does" in got[1].notes[0]


def test_a_content_length_past_the_end_says_truncated() -> None:
    cut = content_length_message(1, b"the whole body, but cut off")[:-10]
    got = list(iter_mbox(io.BytesIO(SEPARATOR + cut)))
    assert got[0].data == cut
    assert "truncated" in got[0].notes[0]


@pytest.mark.parametrize("shift", range(-8, 9))
def test_separators_across_read_blocks_are_found(shift: int) -> None:
    # The second separator starts a few bytes either side of the 1 MiB block edge.
    first = SEPARATOR + message(1)
    padding = (1 << 20) + shift - len(first) - 1
    body = (b"x" * 70 + b"\n") * (padding // 71) + b"y" * (padding % 71)
    data = first[:-1] + b"\n" + body + b"\n" + SEPARATOR + message(2)
    assert data.index(SEPARATOR, 10) in range((1 << 20) - 8, (1 << 20) + 9)
    assert split(data)[1] == message(2)


def reference_split(data: bytes) -> list[bytes]:
    """The same rules, line by line over the whole mailbox in memory (the obvious way)."""
    messages: list[bytes] = []
    current: list[bytes] | None = None
    pieces = data.split(b"\n")
    for line in [piece + b"\n" for piece in pieces[:-1]] + [pieces[-1]]:
        if mbox._is_separator(line.rstrip(b"\r\n")):
            if current is not None:
                messages.append(b"".join(current))
            current = []
        elif current is not None:
            current.append(line)
    if current is not None:
        messages.append(b"".join(current))
    out = []
    for raw in messages:
        raw = raw[:-2] if raw.endswith(b"\r\n\r\n") else raw[:-1] if raw.endswith(b"\n\n") else raw
        out.append(mbox._QUOTED_FROM.sub(rb"\1", raw))
    return out


_LINES = st.sampled_from(
    [
        SEPARATOR.rstrip(b"\n"),
        THUNDERBIRD.rstrip(b"\n"),
        b"From the pier at 9:15",
        b"From x Tue",
        b">From nadia@example.org Tue Mar  5 09:15:00 2024",
        b">>From a quote",
        b"",
        b"\r",
        b"Subject: tide",
        b"From " + b"a" * 1100 + b" Tue 09:15",
        b"b" * 3000,
        b"\x00\xff From Tue 10:00",
    ]
)


@settings(max_examples=150)
@given(lines=st.lists(_LINES, max_size=40), chunk=st.sampled_from([1, 2, 5, 64, 1031, 4096]))
def test_splitting_in_blocks_agrees_with_splitting_whole(lines: list[bytes], chunk: int) -> None:
    data = b"\n".join([SEPARATOR.rstrip(b"\n"), *lines])
    original = mbox._FIRST_CHUNK, mbox._CHUNK
    # Small blocks: every line straddles a block edge somewhere.
    mbox._FIRST_CHUNK, mbox._CHUNK = max(1, chunk // 4), chunk
    try:
        got = split(data)
    finally:
        mbox._FIRST_CHUNK, mbox._CHUNK = original
    assert got == reference_split(data)


def test_a_line_longer_than_a_block_then_a_separator() -> None:
    body = "z" * (3 << 20)
    assert split(mboxrd(message(1, body), message(2))) == [message(1, body), message(2)]


def test_a_message_over_the_limit_is_passed_over_unread() -> None:
    big = message(2, "w" * 5000)
    got = list(iter_mbox(io.BytesIO(mboxrd(message(1), big, message(3))), max_message_bytes=4000))
    assert [(m.number, m.too_large, m.data) for m in got] == [
        (1, False, message(1)),
        (2, True, b""),
        (3, False, message(3)),
    ]
    assert got[1].size == len(big)


def test_a_mailbox_must_start_with_a_separator() -> None:
    with pytest.raises(ExtractionError, match="no From separator"):
        split(b"\n" + SEPARATOR + message(1))


def test_too_many_messages_is_an_error_after_the_first_ones() -> None:
    messages = iter_mbox(io.BytesIO(mboxrd(*(message(n) for n in range(1, 6)))), max_messages=3)
    assert [next(messages).number for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ExtractionError, match="more than 3 messages"):
        next(messages)


# --- messages as items ---------------------------------------------------------


def entries(path: Path, **limits: int) -> list[object]:
    from leakscan.exports.archives import ArchiveLimits

    return list(Expander(ArchiveLimits(**limits) if limits else None).expand([path]))


def test_damaged_messages_cost_only_themselves(tmp_path: Path) -> None:
    path = tmp_path / "Inbox"
    big = message(2, "q" * 6000)
    garbage = bytes(range(256)) * 4 + b"\n\x00\xff" * 50
    last = message(6, "The last note ends mid-sentence and then".ljust(200, "."))
    path.write_bytes(
        mboxrd(message(1), big, message(3))
        + SEPARATOR + garbage + b"\n\n"
        + SEPARATOR + b"\n"
        + SEPARATOR + last[: len(last) // 2 + 40]
    )  # fmt: skip
    got = entries(path, max_member_bytes=5000)
    errors = {e.suspect: e.error for e in got if isinstance(e, ErrorRecord)}
    skipped = {e.suspect: e.reason for e in got if isinstance(e, SkippedRecord)}
    items = {e.name: e for e in got if isinstance(e, Item)}
    assert sorted(items) == [f"{path}#msg={n}" for n in (1, 3, 6)]
    assert skipped == {f"{path}#msg=2": f"larger than the 5000-byte limit ({len(big)} bytes)"}
    assert set(errors) == {f"{path}#msg=4", f"{path}#msg=5"}
    assert "not an e-mail" in errors[f"{path}#msg=4"]
    assert "empty message" in errors[f"{path}#msg=5"]
    text = items[f"{path}#msg=6"].text or ""
    assert "The last note ends mid-sentence" in text


@settings(max_examples=60)
@given(
    pieces=st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([SEPARATOR, b"\n\n", b"Content-Length: 99999\n", message(9)]),
        ),
        max_size=12,
    )
)
def test_hostile_bytes_give_records_never_exceptions(pieces: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Inbox"
        path.write_bytes(mboxrd(message(1)) + b"".join(pieces))
        got = entries(path)
    assert all(isinstance(e, (Item, ErrorRecord, SkippedRecord, Opened)) for e in got)
    numbers = [int(e.name.split("#msg=")[1].split("!")[0]) for e in got if isinstance(e, Item)]
    assert numbers[0] == 1 and numbers == sorted(numbers)
