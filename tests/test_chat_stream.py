"""Chats read as streams: the same messages as a whole-file parse, in memory bounded by design.

WhatsApp streaming is checked against a whole-text reference parser (the
algorithm leakscan used before it streamed) on every fixture layout and on
generated chats, with chunk boundaries falling anywhere (even inside a UTF-8
sequence or a CRLF). Telegram streaming is checked against itself with text
windows dropped every few characters, and against line numbers found by
indentation. Large chats (150 MB WhatsApp, 60 MB Telegram, and a 20 MB
chat for scan_chat with a real index) are generated piece by piece and read
in a child process whose address space is capped (1 GiB; 512 MiB for the
Telegram export): read whole, as before, neither of the first two fits.
Every message, name and document here is fictional.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leakscan
from leakscan import Index, Scanner
from leakscan.chatscan import RUN_MAX_MESSAGES, ChatScan, message_runs, scan_chat
from leakscan.exports import chat as chat_module
from leakscan.exports import telegram, whatsapp
from leakscan.exports.chat import (
    AttachmentRef,
    ChatContext,
    ChatFormatError,
    Message,
)
from leakscan.exports.chat_apps import iter_chat
from tests.chat_factories import (
    FILE_NOT_INCLUDED,
    LRM,
    RLM,
    WA_LOCALES,
    TgChat,
    TgMessage,
    WaAttachment,
    WaMessage,
    telegram_account_json,
    telegram_chat_json,
    whatsapp_chat_text,
)
from tests.indexes import build_text_index
from tests.office_factories import to_windows_urdu
from tests.texts import prose, urdu_prose

T0 = datetime(2026, 3, 17, 21, 22, 39)
URDU_NAME = "عائشہ خان"
URDU_TEXT = "کل صبح دفتر میں ملاقات ہوگی۔\nفائل ساتھ لانا: صفحہ ۲ اور ۳"
PHONE = "\u202a+92 300 1234567\u202c"
#: The sentence planted in large chats: invented, like everything here.
PLANTED = "The sluice keeper of Eastbrook Valley counts nine herons before the tea van arrives"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def wa(data: bytes, chunk: int | None = None) -> list[Message]:
    """iter_messages over bytes, the stream read ``chunk`` bytes at a time if given."""
    if chunk is None:
        return list(whatsapp.iter_messages(io.BytesIO(data)))
    with mock.patch.object(chat_module, "CHUNK_BYTES", chunk):
        return list(whatsapp.iter_messages(io.BytesIO(data)))


# ---------------------------------------------------------------------------
# The reference: WhatsApp parsed from the whole text, as before streaming
# ---------------------------------------------------------------------------


def reference(text: str) -> list[Message]:
    """Messages of a chat's whole text, by the whole-file algorithm (the oracle)."""
    found = [(m, h) for m in whatsapp._HEADER.finditer(text) if (h := whatsapp._header(m))]
    found = [(m, h) for m, h in found if h.ios == found[0][1].ios] if found else []
    headers = [h for _, h in found]
    free = [h for h in headers if not h.year_first]
    day_votes = sum(h.first > 12 >= h.second for h in free)
    month_votes = sum(h.second > 12 >= h.first for h in free)

    def in_order(day_first: bool) -> bool:
        stamps = [h.sent_at(day_first) for h in headers]
        return None not in stamps and all(a <= b for a, b in pairwise(stamps))  # type: ignore[operator]

    if day_votes or month_votes:
        day_first = day_votes >= month_votes
    elif in_order(True) and in_order(False) and free:
        day_first = sum(h.us_style for h in free) * 2 <= len(free)
    else:
        day_first = in_order(True) or not in_order(False)
    kept = [(m, s) for m, h in found if (s := h.sent_at(day_first)) is not None]
    if not kept:
        raise ChatFormatError("no message header line")
    if whatsapp._NON_BLANK.search(text, 0, kept[0][0].start()):
        raise ChatFormatError("text before any message")
    messages = []
    line = 1 + text.count("\n", 0, kept[0][0].start())
    for i, (match, sent_at) in enumerate(kept):
        following = kept[i + 1][0].start() if i + 1 < len(kept) else len(text)
        line_end = text.find("\n", match.end(), following)
        if line_end < 0:
            line_end = following
        named = whatsapp._sender(text, match.end(), line_end)
        sender, start = (None, match.end()) if named is None else (named[0], named[1] + 2)
        end = following
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        end_line = line + text.count("\n", match.start(), end)
        attachments: tuple[AttachmentRef, ...] = ()
        if sender is not None:
            attachments = whatsapp._attachments(text[start : min(line_end, end)].rstrip("\r"))
        messages.append(
            Message(
                line, end_line, sender, sent_at, text[start:end], start, attachments, not sender
            )
        )
        line = end_line + text.count("\n", end, following)
    return messages


# ---------------------------------------------------------------------------
# WhatsApp: streaming gives what the whole text gives
# ---------------------------------------------------------------------------

CONVERSATION = [
    WaMessage(at(0), None, "Ayesha Khan created group “Budget Team”"),
    WaMessage(at(1), "Ayesha Khan", "Note: the memo is ready: page 2\nand page 3"),
    WaMessage(at(2), URDU_NAME, URDU_TEXT),
    WaMessage(at(3), PHONE, "On my way"),
    WaMessage(at(4), None, "Ayesha Khan added Bilal Qureshi"),
    WaMessage(at(5), "Bilal Qureshi", "Thanks, see you at 10:30 - room 4\n\n\nbye\n\n"),
    WaMessage(at(6), "Bilal Qureshi", "", WaAttachment("IMG-20260317-WA0003.jpg")),
    WaMessage(at(7), URDU_NAME, "", WaAttachment("Budget memo.pdf", "document", False, 3)),
    WaMessage(at(8), "Ayesha Khan", "", WaAttachment("00000014-Annex.pdf", "document", pages=2)),
]

HOSTILE = (
    "17/03/2026, 21:22 - " + "word " * 30_000 + "\n"
    "07/03/2026," + "\u00a0" * 100_000 + "x\n"
    "[07/03/2026, 21:22:39" + LRM * 100_000 + "\n"
    "17/03/2026, 21:23 - Bilal: " + "ب" * 300_000 + "\n\r\n\n"
    "17/03/2026, 21:24 - Bilal: " + "\r" * 5_000 + "\n" * 5_000
)


def _fixtures() -> Iterator[tuple[str, str]]:
    for layout in ("android", "ios"):
        for locale in sorted(WA_LOCALES):
            for newline in ("\n", "\r\n"):
                name = f"{layout}-{locale}-{'crlf' if newline != chr(10) else 'lf'}"
                yield (
                    name,
                    whatsapp_chat_text(CONVERSATION, layout=layout, locale=locale, newline=newline),
                )
    yield "urdu digits", whatsapp_chat_text(CONVERSATION, layout="ios", digits="urdu")
    yield "ambiguous us", whatsapp_chat_text(CONVERSATION[:3], locale="en_US", date_order="mdy")
    yield "blank lead", "\n \n" + whatsapp_chat_text(CONVERSATION)
    yield "bom inside", "\ufeff" + whatsapp_chat_text(CONVERSATION, layout="ios")
    yield "no final newline", whatsapp_chat_text(CONVERSATION).rstrip("\n")
    yield "hostile lines", HOSTILE


FIXTURES = dict(_fixtures())


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("chunk", [None, 5])
def test_whatsapp_stream_equals_the_whole_text_parse(name: str, chunk: int | None) -> None:
    text = FIXTURES[name]
    assert list(whatsapp.parse(text).messages) == reference(text)
    # The bytes' byte-order mark is no character of the text (offsets count from after it).
    assert wa(text.encode(), chunk) == reference(text.removeprefix("\ufeff"))


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
    ],
)
def test_whatsapp_encodings(encoding: str, bom: bytes) -> None:
    text = whatsapp_chat_text(CONVERSATION, layout="ios")
    stream = whatsapp.iter_messages(io.BytesIO(bom + text.encode(encoding)))
    assert list(stream) == reference(text)
    assert (stream.layout, stream.notes) == ("ios", [])


def test_damaged_bytes_are_replaced_and_noted() -> None:
    text = whatsapp_chat_text(CONVERSATION)
    data = text.encode().replace(b"On my way", b"On my \xff\xfe way")
    stream = whatsapp.iter_messages(io.BytesIO(data))
    messages = list(stream)
    assert [m.text for m in messages] == [
        m.text.replace("On my way", "On my \ufffd\ufffd way") for m in reference(text)
    ]
    (note,) = stream.notes
    bad = data.index(b"\xff")
    assert note == f"bytes that are not UTF-8 replaced by U+FFFD (the first at byte {bad})"


def test_a_chat_saved_in_a_windows_code_page() -> None:
    messages = [
        WaMessage(
            at(i), ("Ayesha Khan", "Bilal Qureshi")[i % 2], to_windows_urdu(urdu_prose(i, 30))
        )
        for i in range(40)
    ]
    text = whatsapp_chat_text(messages)
    stream = whatsapp.iter_messages(io.BytesIO(text.encode("cp1256")))
    assert list(stream) == reference(text)
    assert stream.notes == ["not UTF-8: read as cp1256"]


def test_a_stream_that_cannot_seek_is_copied() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            data = self.inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    text = whatsapp_chat_text(CONVERSATION)
    with OneWay(text.encode()) as stream:
        assert not stream.seekable()
        assert list(iter_chat("whatsapp", stream)) == reference(text)


def test_a_message_longer_than_the_cap_is_cut_and_noted() -> None:
    text = (
        "17/03/2026, 21:22 - Bilal: "
        + "long line\n" * 1_000
        + "\n\n17/03/2026, 21:23 - Ayesha: after it\n"
    )
    with mock.patch.object(whatsapp, "MAX_MESSAGE_CHARS", 95):
        stream = whatsapp.iter_messages(io.BytesIO(text.encode()))
        first, second = stream
    whole = reference(text)
    assert first.text == whole[0].text[:95]
    assert (first.line, first.end_line) == (whole[0].line, whole[0].end_line) == (1, 1000)
    assert second == whole[1]
    assert stream.notes == [
        f"line 1: message text cut after 95 characters ({len(whole[0].text) - 95} more not read)"
    ]


def test_not_a_chat() -> None:
    with pytest.raises(ChatFormatError, match="no message header"):
        wa(b"The Eastbrook Valley Water Board met on 17 March 2026.\n")
    with pytest.raises(ChatFormatError, match="line 2 is text before any message"):
        wa(b"\nan earlier message's end\n17/03/2026, 21:22 - Bilal: ok\n")
    with pytest.raises(ChatFormatError, match="not a chat app"):
        next(iter_chat("signal", io.BytesIO(b"")))


_SENDERS = ["Ayesha Khan", URDU_NAME, PHONE, "Bilal Qureshi", f"{RLM}بلال{RLM}", "~\u202fSana"]
_LINE = st.text(
    alphabet=st.sampled_from([*"ab xy:-,./[]()<>019", "ہ", "۲", "\r", LRM, RLM, "\t", "\u00a0"]),
    max_size=30,
)
_LINES = st.lists(_LINE | st.sampled_from(["", "17/03/2026, 21:22 - Quoted: x", "<Media omitted>"]))


@st.composite
def _chats(draw: st.DrawFn) -> tuple[str, str]:
    """A generated chat's text (any locale, layout, line ends) and an encoding for it."""
    count = draw(st.integers(1, 10))
    when = draw(st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 1)))
    messages = []
    for _ in range(count):
        sender = draw(st.none() | st.sampled_from(_SENDERS))
        lines = draw(_LINES)
        text = "\n".join(lines) if sender else draw(_LINE).replace(":", ";").replace("\r", "")
        messages.append(WaMessage(when, sender, text))
        when += timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    text = whatsapp_chat_text(
        messages,
        layout=draw(st.sampled_from(["android", "ios"])),
        locale=draw(st.sampled_from(sorted(WA_LOCALES))),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
    )
    return text, draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))


@given(chat=_chats(), chunk=st.integers(1, 64))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_generated_chats_stream_as_the_whole_text_parses(chat: tuple[str, str], chunk: int) -> None:
    text, encoding = chat
    try:
        expected: list[Message] | str = reference(text)  # no BOM: "utf-8-sig" adds one
    except ChatFormatError:
        expected = "error"
    try:
        got: list[Message] | str = wa(text.encode(encoding), chunk)
    except ChatFormatError:
        got = "error"
    assert got == expected
    with mock.patch.object(whatsapp, "_BLOCK", chunk):
        try:
            parsed: list[Message] | str = list(whatsapp.parse(text).messages)
        except ChatFormatError:
            parsed = "error"
    assert parsed == expected


# ---------------------------------------------------------------------------
# Telegram: the same messages through small windows; damage never worse than ChatFormatError
# ---------------------------------------------------------------------------

TG_MESSAGES = [
    TgMessage(at(0), "Ayesha Khan", "", action="create_group"),
    TgMessage(at(1), "Ayesha Khan", 'The memo: "page 2" \\ [and] {page 3}\n'),
    TgMessage(
        at(2),
        URDU_NAME,
        ["فائل ", {"type": "bold", "text": "صفحہ ۲"}, " دیکھیں"],
        edited=at(3),
    ),
    TgMessage(at(4), "Bilal Qureshi", "Here", file="files/Budget memo.pdf", file_name="m.pdf"),
    TgMessage(at(5), "Bilal Qureshi", "", file=FILE_NOT_INCLUDED, file_name="Annex B.docx"),
    TgMessage(at(6), None, "deleted account", photo=FILE_NOT_INCLUDED, forwarded_from="Sana"),
]


def _tg_exports() -> dict[str, bytes]:
    one = telegram_chat_json(TgChat("Budget Team", TG_MESSAGES))
    chats = [TgChat("Budget Team", TG_MESSAGES[:3]), TgChat("Bilal", TG_MESSAGES[3:], id=5)]
    account = telegram_account_json(chats, left_chats=[TgChat("Old", TG_MESSAGES[1:2], id=6)])
    compact = json.dumps(json.loads(one), ensure_ascii=False)
    return {
        "one chat": one.encode(),
        "account": account.encode(),
        "compact with bom": codecs.BOM_UTF8 + compact.encode(),
    }


TG_EXPORTS = _tg_exports()


def tg(data: bytes, chunk: int | None = None, drop: int | None = None) -> list[Message]:
    """telegram.iter_messages over bytes, read ``chunk`` bytes at a time, text dropped early."""
    with (
        mock.patch.object(chat_module, "CHUNK_BYTES", chunk or chat_module.CHUNK_BYTES),
        mock.patch.object(telegram, "_DROP", drop or telegram._DROP),
    ):
        return list(telegram.iter_messages(io.BytesIO(data)))


def object_lines(text: str, indent: int) -> list[tuple[int, int]]:
    """Lines of each message object's braces, found by indentation (not by the parser)."""
    lines = text.split("\n")
    opens = [i + 1 for i, line in enumerate(lines) if line == " " * indent + "{"]
    closes = [i + 1 for i, line in enumerate(lines) if line.rstrip(",") == " " * indent + "}"]
    return list(zip(opens, closes, strict=True))


@pytest.mark.parametrize("name", sorted(TG_EXPORTS))
@pytest.mark.parametrize(("chunk", "drop"), [(1, 1), (7, 40), (None, None)])
def test_telegram_stream_through_small_windows(
    name: str, chunk: int | None, drop: int | None
) -> None:
    data = TG_EXPORTS[name]
    chat = telegram.parse(data)
    assert tg(data, chunk, drop) == list(chat.messages)
    assert len(chat.messages) == (6 if name != "account" else 7)
    if name != "compact with bom":
        indent = 2 if name == "one chat" else 5
        lines = object_lines(data.decode(), indent)
        assert [(m.line, m.end_line) for m in chat.messages] == lines
    assert chat.messages[1].text == 'The memo: "page 2" \\ [and] {page 3}\n'


def _with_numbers(digits: int) -> bytes:
    """The one-chat export with numbers of ``digits`` digits where Telegram writes numbers."""
    big = "9" * digits
    text = TG_EXPORTS["one chat"].decode()
    text = text.replace('"id": 4000000001', f'"id": -{big}', 1).replace('"id": 2,', f'"id": {big},')
    text = text.replace('"width": 1280', f'"width": {big}.{big}e-{big}')
    text = text.replace('"text": "Here"', f'"text": {big}, "text_entities2": [{big}]')
    return text.encode()


def test_a_5000_digit_number_is_no_error() -> None:
    data = _with_numbers(5000)
    assert data.count(b"9" * 5000) >= 5
    with pytest.raises(ValueError, match="digits"):
        json.loads(data)  # what ended whole scans before
    expected = list(telegram.parse(TG_EXPORTS["one chat"]).messages)
    expected[3] = Message(**{**expected[3].__dict__, "text": ""})  # the text is a number now
    assert tg(data) == tg(data, 5, 30) == expected


def test_values_too_deep_or_too_large_are_stepped_over() -> None:
    deep = "[" * 50_000 + '"]}[{"' + "]" * 50_000
    text = TG_EXPORTS["one chat"].decode()
    text = text.replace('"text": "Here"', f'"text": {deep}')  # the fourth message
    text = text.replace('{\n "name"', '{\n "about": ' + deep + ',\n "name"')
    data = text.encode()
    expected = list(telegram.parse(TG_EXPORTS["one chat"]).messages)
    line = expected[3].line + 1  # "about" took a line above it
    for chunk, drop in [(None, None), (11, 100)]:
        stream = telegram.iter_messages(io.BytesIO(data))
        with (
            mock.patch.object(chat_module, "CHUNK_BYTES", chunk or chat_module.CHUNK_BYTES),
            mock.patch.object(telegram, "_DROP", drop or telegram._DROP),
        ):
            got = list(stream)
        assert [m.text for m in got] == [m.text for m in expected[:3] + expected[4:]]
        assert stream.notes == [f"line {line}: a message nested too deeply was skipped"]
    with mock.patch.object(telegram, "MAX_VALUE_CHARS", 300):
        stream = telegram.iter_messages(io.BytesIO(TG_EXPORTS["one chat"]))
        got = list(stream)
    lines = TG_EXPORTS["one chat"].decode().split("\n")
    long = [m for m in expected if len("\n".join(lines[m.line - 1 : m.end_line])) - 2 > 300]
    assert got == [m for m in expected if m not in long] and long
    assert stream.notes == [
        f"line {m.line}: a message over 300 characters was skipped" for m in long
    ]


@pytest.mark.parametrize(
    "filler",
    [
        pytest.param(" \n" * 1_000_000, id="whitespace"),
        pytest.param('"x": ' + "7" * 2_000_000 + ", ", id="number"),
        pytest.param('"x": "' + 'a\\"[{' * 500_000 + '", ', id="string"),
        pytest.param('"x": ' + "[" * 300_000 + "]" * 300_000 + ", ", id="nesting"),
    ],
)
def test_what_is_held_stays_small_whatever_the_file_holds(filler: str) -> None:
    original = TG_EXPORTS["one chat"].decode()
    text = original.replace('"id": 3,', filler + '"id": 3,')  # the third message: skipped
    text = text.replace('"messages": [', filler + '"messages": [')  # stepped over
    text = text.replace("},\n  {", "}," + " \n" * 200_000 + "{")  # between messages
    held: list[int] = []
    more = telegram._Text.more

    def watched(self: Any, at_least: int = 1) -> bool:
        held.append(len(self.text))
        return more(self, at_least)

    with (
        mock.patch.object(telegram._Text, "more", watched),
        mock.patch.object(chat_module, "CHUNK_BYTES", 4096),
        mock.patch.object(telegram, "_DROP", 4096),
        mock.patch.object(telegram, "MAX_VALUE_CHARS", 50_000),
    ):
        stream = telegram.iter_messages(io.BytesIO(text.encode()))
        got = list(stream)
    expected = telegram.parse(TG_EXPORTS["one chat"]).messages
    assert [m.text for m in got] == [m.text for i, m in enumerate(expected) if i != 2]
    line = text.count("\n", 0, text.index('"id": 3,')) - filler.count("\n")
    why = "nested too deeply" if "[[" in filler else "over 50000 characters"
    assert stream.notes == [f"line {line}: a message {why} was skipped"]
    assert len(text) > 2_000_000 and max(held) < 60_000


def test_a_message_text_over_the_cap_is_cut() -> None:
    data = TG_EXPORTS["one chat"]
    with mock.patch.object(telegram, "MAX_MESSAGE_CHARS", 5):
        stream = telegram.iter_messages(io.BytesIO(data))
        got = list(stream)
    more = len(TG_MESSAGES[1].text) - 5
    assert got[1].text == "The m"
    assert (
        stream.notes[0]
        == f"line {got[1].line}: message text cut after 5 characters ({more} more not read)"
    )


DATA = TG_EXPORTS["one chat"]
_DATA_LINES = DATA.decode().split("\n")
#: Where each message object's closing brace is, in bytes.
_ENDS = [
    len("\n".join(_DATA_LINES[: end - 1]).encode()) + 1 + 2
    for _, end in object_lines(DATA.decode(), 2)
]


@given(cut=st.integers(0, len(DATA) - 1), chunk=st.sampled_from([3, 64, 1 << 20]))
@settings(max_examples=150)
def test_truncated_json_gives_the_messages_before_the_cut_then_an_error(
    cut: int, chunk: int
) -> None:
    expected = list(telegram.parse(DATA).messages)
    got: list[Message] = []
    complete = cut > DATA.rindex(b"}")
    with mock.patch.object(chat_module, "CHUNK_BYTES", chunk):
        stream = telegram.iter_messages(io.BytesIO(DATA[:cut]))
        if complete:
            got = list(stream)
        else:
            with pytest.raises(ChatFormatError, match=r"line \d+, column \d+|JSON object"):
                for message in stream:
                    got.append(message)
    assert got == [m for m, end in zip(expected, _ENDS, strict=True) if end < cut]


@given(
    flips=st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(0, 255)), max_size=6),
    chunk=st.sampled_from([5, 1 << 20]),
)
@settings(max_examples=150)
def test_damaged_json_raises_nothing_but_chat_format_error(
    flips: list[tuple[int, int]], chunk: int
) -> None:
    data = bytearray(DATA)
    for where, byte in flips:
        data[where] = byte
    with mock.patch.object(chat_module, "CHUNK_BYTES", chunk):
        try:
            for message in telegram.iter_messages(io.BytesIO(bytes(data))):
                assert isinstance(message, Message)
        except ChatFormatError:
            pass


@pytest.mark.parametrize(
    ("data", "texts", "layout"),
    [
        (b'{"messages": {"a": [1, {"b": 2}]}}', [], "single_chat"),
        (b'{"chats": [1, 2], "left_chats": "gone"}', [], "all_chats"),
        (b'{"chats": {"list": {"a": 1}}}', [], "all_chats"),
        (
            b'{"messages": [{"date": "d", "text": 7, "from": ["x"], "file": {"a": 1}, "photo": 3}'
            b"]}",
            [""],
            "single_chat",
        ),
        (
            b'{"messages": [{"date": "d", "text": ["a", 5, {"text": 6}, {"text": "b"}, null]}]}',
            ["ab"],
            "single_chat",
        ),
        (
            b'{"messages": [{"date": "d", "text": "x", "type": ["service"]}], "n": NaN}',
            ["x"],
            "single_chat",
        ),
    ],
)
def test_wrong_types_are_read_around(data: bytes, texts: list[str], layout: str) -> None:
    stream = telegram.iter_messages(io.BytesIO(data))
    assert [m.text for m in stream] == texts
    assert stream.layout == layout


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"messages": [{"date": 5}]}', "message object with a date"),
        (b'{"chats": {"list": [1]}}', "expected '{'"),
        (b'{"messages": [{"date": "d", "text": "a\x01"}]}', "Invalid control character"),
        (b'{"messages": [{"date": "d"} {"date": "e"}]}', "expected ','"),
    ],
)
def test_invalid_structure(data: bytes, message: str) -> None:
    with pytest.raises(ChatFormatError, match=message):
        list(telegram.iter_messages(io.BytesIO(data)))


# ---------------------------------------------------------------------------
# Large chats, read in a child process capped at 1 GiB of address space
# ---------------------------------------------------------------------------

#: A child's address space: a chat read whole (its bytes, its text, its messages) would not fit.
ADDRESS_SPACE = 1 << 30

_READ_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from leakscan.exports.chat_apps import iter_chat
count, found = 0, []
with open(sys.argv[2], "rb") as stream:
    for m in iter_chat(sys.argv[1], stream):
        count += 1
        if sys.argv[3] in m.text:
            found.append([m.line, m.end_line, m.sender, m.sent_at, m.text_start])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent that forked us.
with open("/proc/self/status") as status:
    rss = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) // 1024
print(json.dumps({{"count": count, "found": found, "rss_mib": rss}}))
"""


def run_capped(code: str, *args: str, limit: int = ADDRESS_SPACE) -> dict[str, Any]:
    """Run code in a child Python (leakscan from this tree) with its address space capped
    at ``limit`` bytes, and return the JSON it prints."""
    root = Path(leakscan.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code.format(limit=limit), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Planted:
    """Where a large chat's planted message is, as its writer knows it."""

    def __init__(self, count: int, line: int, end_line: int, text_start: int = -1) -> None:
        self.count, self.line, self.end_line, self.text_start = count, line, end_line, text_start


def write_large_whatsapp(path: Path, size: int) -> Planted:
    """A chat of about ``size`` bytes, written a block at a time, PLANTED in its middle.

    Emoji, as chats have, make its text 4 bytes a character in Python: whole,
    with its bytes and its messages, it would need well over 1 GiB.
    """
    conversation = [
        WaMessage(
            T0 + timedelta(seconds=13 * i),
            ("Ayesha Khan", URDU_NAME, "Bilal Qureshi")[i % 3],
            (prose(500 + i, 40 + i % 200) if i % 5 else urdu_prose(i, 60))
            + ("" if i % 7 else " 👍"),
        )
        for i in range(400)
    ]
    block = whatsapp_chat_text(conversation)
    planted = f"Forwarded:\n{PLANTED}."
    head = whatsapp_chat_text([WaMessage(T0 + timedelta(hours=3), "Sana Mir", planted)])
    data = block.encode()
    blocks = max(2, size // len(data))
    with path.open("wb") as out:
        for i in range(blocks):
            if i == blocks // 2:
                out.write(head.encode())
            out.write(data)
    before = blocks // 2
    line = before * block.count("\n") + 1
    text_start = before * len(block) + len(head) - len(planted) - 1
    return Planted(blocks * len(conversation) + 1, line, line + 1, text_start)


def _tg_parts(messages: list[TgMessage]) -> tuple[str, str, str]:
    """A one-chat result.json cut in three: before, the message objects, after."""
    text = telegram_chat_json(TgChat("Budget Team", messages))
    start = text.index('"messages": [\n') + len('"messages": [\n')
    end = text.rindex("\n ]\n}")
    return text[:start], text[start:end], text[end:]


def write_large_telegram(path: Path, size: int) -> Planted:
    """A one-chat result.json of about ``size`` bytes, written a block at a time, PLANTED inside."""
    conversation = [
        TgMessage(
            T0 + timedelta(seconds=7 * i),
            ("Ayesha Khan", URDU_NAME)[i % 2],
            [prose(700 + i, 20 + i % 60), {"type": "bold", "text": "page 2"}, " 🙏"]
            if i % 3
            else urdu_prose(i, 30),
        )
        for i in range(400)
    ]
    head, body, tail = _tg_parts(conversation)
    forwarded = [
        TgMessage(
            T0 + timedelta(hours=3), "Sana Mir", ["Fwd: ", {"type": "italic", "text": PLANTED}]
        )
    ]
    planted = _tg_parts(forwarded)[1]
    blocks = max(2, size // len(body.encode()))
    lines = head.count("\n")
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        for i in range(blocks):
            if i:
                out.write(",\n")
                lines += 1
            if i == blocks // 2:
                line = lines + 1
                out.write(planted + ",\n")
                lines += planted.count("\n") + 1
            out.write(body)
            lines += body.count("\n")
        out.write(tail)
    return Planted(blocks * len(conversation) + 1, line, line + planted.count("\n"))


@pytest.mark.slow
def test_a_150_megabyte_whatsapp_chat_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat with Budget Team.txt"
    planted = write_large_whatsapp(path, 150_000_000)
    try:
        assert path.stat().st_size > 145_000_000
        result = run_capped(_READ_CHILD, "whatsapp", str(path), PLANTED)
    finally:
        path.unlink()
    assert result["count"] == planted.count
    assert result["found"] == [
        [planted.line, planted.end_line, "Sana Mir", "2026-03-18T00:22:00", planted.text_start]
    ]
    assert result["rss_mib"] < 200, result


@pytest.mark.slow
def test_a_60_megabyte_telegram_export_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    planted = write_large_telegram(path, 60_000_000)
    try:
        assert path.stat().st_size > 58_000_000
        # Read whole, this export (bytes, text, messages) takes some 400 MiB: cap lower.
        result = run_capped(_READ_CHILD, "telegram", str(path), PLANTED, limit=512 << 20)
    finally:
        path.unlink()
    assert result["count"] == planted.count
    assert result["found"] == [
        [planted.line, planted.end_line, "Sana Mir", "2026-03-18T00:22:39", -1]
    ]
    assert result["rss_mib"] < 200, result


# ---------------------------------------------------------------------------
# scan_chat: runs of one sender, found at the right message, from a stream
# ---------------------------------------------------------------------------

KEY = b"s" * 32
PLAN = prose(71, 600)
BUDGET = prose(72, 500)


def words(text: str, start: int, count: int) -> str:
    return " ".join(text.split()[start : start + count])


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stream-index")
    return build_text_index(folder, {"ops/harbour plan.txt": PLAN, "Budget memo.txt": BUDGET}, KEY)


def scan_bytes(
    index_path: Path, app: str, data: bytes, missing: frozenset[str] = frozenset()
) -> ChatScan:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        scanner = Scanner(index)
        return scan_chat(
            "chat.txt",
            ChatContext(app, missing),
            io.BytesIO(data),
            index,
            "f" * 64,
            None,
            lambda extracted: scanner.scan_text(extracted.text, "chat.txt", "f" * 64),
        )


def test_a_paste_cut_by_the_run_limit_is_found_whole_and_once(index_path: Path) -> None:
    first = RUN_MAX_MESSAGES - 3  # the paste starts 3 messages before the cut
    pasted = [words(PLAN, 300 + 10 * i, 10) for i in range(6)]
    texts = [f"Reading list item {i}: tea, the minibus, the canal" for i in range(520)]
    texts[first : first + 6] = pasted
    messages = [
        WaMessage(T0 + timedelta(seconds=i), "Bilal Qureshi", text) for i, text in enumerate(texts)
    ]
    runs = list(
        message_runs(whatsapp.iter_messages(io.BytesIO(whatsapp_chat_text(messages).encode())))
    )
    assert [len(run.messages) for run in runs] == [RUN_MAX_MESSAGES, 50 + 20]
    result = scan_bytes(index_path, "whatsapp", whatsapp_chat_text(messages).encode())
    (finding,) = result.findings
    assert finding.suspect == f"chat.txt#L{first + 1}" and finding.sender == "Bilal Qureshi"
    assert finding.messages == tuple(f"chat.txt#L{first + 1 + i}" for i in range(6))
    assert finding.source == "ops/harbour plan.txt" and finding.matched_tokens >= 50
    assert finding.sent_at == (T0 + timedelta(seconds=first)).replace(second=0).isoformat()
    assert (result.messages, result.notes, result.error) == (520, [], None)


@pytest.mark.parametrize("cut", [b"Thanks", b"and more"])
def test_a_truncated_export_keeps_the_findings_before_the_cut(index_path: Path, cut: bytes) -> None:
    messages = [
        TgMessage(at(0), "Ayesha Khan", "Did you get it?"),
        TgMessage(
            at(1), "Bilal Qureshi", ["Here: ", {"type": "bold", "text": words(BUDGET, 40, 40)}]
        ),
        TgMessage(at(2), "Bilal Qureshi", "and more tomorrow"),  # the same run: cut in it
        TgMessage(at(3), None, "", action="invite_members"),
        TgMessage(at(4), "Ayesha Khan", "Thanks, see you at the canal"),
    ]
    data = telegram_chat_json(TgChat("Budget Team", messages)).encode()
    result = scan_bytes(index_path, "telegram", data[: data.index(cut)])
    (finding,) = result.findings
    assert finding.source == "Budget memo.txt" and finding.sender == "Bilal Qureshi"
    assert finding.suspect.startswith("chat.txt#L") and finding.sent_at == at(1).isoformat()
    assert result.messages == (3 if cut == b"Thanks" else 2)
    assert result.error is not None and "truncated?" in result.error


def test_a_dropped_attachment_is_named_while_streaming(index_path: Path) -> None:
    messages = [
        WaMessage(at(0), "Ayesha Khan", "Send the memo"),
        WaMessage(
            at(1), "Bilal Qureshi", "", WaAttachment("Budget memo.txt", "document", False, 3)
        ),
        WaMessage(at(2), "Bilal Qureshi", "", WaAttachment("lunch.jpg", "photo", False)),
    ]
    data = whatsapp_chat_text(messages, layout="ios").encode()
    result = scan_bytes(index_path, "whatsapp", data, frozenset({"Budget memo.txt"}))
    (finding,) = result.findings
    assert finding.kind == "attachment-name" and finding.suspect == "chat.txt#L2"
    assert (finding.attachment, finding.attachment_pages) == ("Budget memo.txt", 3)
    assert (finding.sender, finding.sent_at) == ("Bilal Qureshi", at(1).isoformat())


_SCAN_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from leakscan import Index, Scanner
from leakscan.chatscan import scan_chat
from leakscan.exports.chat import ChatContext
with Index.open(sys.argv[1], key=sys.argv[2].encode(), readonly=True) as index:
    scanner = Scanner(index)
    with open(sys.argv[3], "rb") as stream:
        result = scan_chat(
            "chat.txt", ChatContext("whatsapp"), stream, index, "f" * 64, None,
            lambda extracted: scanner.scan_text(extracted.text, "chat.txt", "f" * 64),
        )
findings = [[f.suspect, f.source, f.sender, f.sent_at, f.matched_tokens] for f in result.findings]
with open("/proc/self/status") as status:  # VmHWM: ru_maxrss is inherited across fork
    rss = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) // 1024
print(json.dumps({{"findings": findings, "messages": result.messages, "rss_mib": rss}}))
"""


@pytest.mark.slow
def test_a_leak_planted_deep_in_a_large_chat_is_found_by_scan_chat(
    tmp_path: Path, index_path: Path
) -> None:
    # Long messages in long runs of one sender: the index is asked once per run (at most
    # 256 KiB), so 20 MB are scanned in seconds.
    conversation = [
        WaMessage(
            T0 + timedelta(seconds=17 * i),
            ("Ayesha Khan", URDU_NAME, "Bilal Qureshi")[i // 100],
            prose(1000 + i, 300 + i % 300) if i % 4 else urdu_prose(i, 400),
        )
        for i in range(300)
    ]
    block = whatsapp_chat_text(conversation).encode()
    leak = WaMessage(T0 + timedelta(hours=3), "Sana Mir", f"fyi\n{words(BUDGET, 120, 60)}")
    planted = whatsapp_chat_text([leak]).encode()
    path = tmp_path / "chat.txt"
    blocks = 20_000_000 // len(block)
    with path.open("wb") as out:
        for i in range(blocks):
            out.write(block)
            if i == blocks - 3:
                out.write(planted)
    line = (blocks - 2) * block.count(b"\n") + 1
    try:
        result = run_capped(_SCAN_CHILD, str(index_path), KEY.decode(), str(path))
    finally:
        path.unlink()
    ((suspect, source, sender, sent_at, tokens),) = result["findings"]
    assert (suspect, source) == (f"chat.txt#L{line}", "Budget memo.txt")
    assert (sender, sent_at) == ("Sana Mir", "2026-03-18T00:22:00")
    assert tokens >= 50
    assert result["messages"] == blocks * len(conversation) + 1
    assert result["rss_mib"] < 300, result
