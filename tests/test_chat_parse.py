"""Chat export parsers: WhatsApp text exports in their layouts and locales, Telegram Desktop JSON.

Every chat here is fictional, written by tests/chat_factories.py or by hand.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakscan.errors import ExtractionError
from leakscan.exports import telegram, whatsapp
from leakscan.exports.chat import AttachmentRef, Chat, ChatFormatError
from tests.chat_factories import (
    FILE_NOT_INCLUDED,
    LRM,
    NNBSP,
    RLM,
    WA_LOCALES,
    TgChat,
    TgMessage,
    WaAttachment,
    WaMessage,
    android_media_name,
    ios_document_name,
    ios_media_name,
    telegram_account_json,
    telegram_chat_json,
    whatsapp_chat_text,
    write_telegram_account_export,
    write_telegram_export,
    write_whatsapp_export,
)

T0 = datetime(2026, 3, 17, 21, 22, 39)  # day 17: the date order is never ambiguous
URDU_NAME = "عائشہ خان"
URDU_TEXT = "کل صبح دفتر میں ملاقات ہوگی۔\nفائل ساتھ لانا: صفحہ ۲ اور ۳"
PHONE = "\u202a+92 300 1234567\u202c"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sliced(text: str, chat: Chat) -> None:
    """Every message's text is the slice of the file text that text_start says."""
    for m in chat.messages:
        assert text[m.text_start : m.text_start + len(m.text)] == m.text


def iso(when: datetime, seconds: bool) -> str:
    return when.replace(second=when.second if seconds else 0).isoformat()


# ---------------------------------------------------------------------------
# WhatsApp: one chat through every layout and locale
# ---------------------------------------------------------------------------

CONVERSATION = [
    WaMessage(at(0), None, "Ayesha Khan created group “Budget Team”"),
    WaMessage(at(1), "Ayesha Khan", "Note: the memo is ready: page 2\nand page 3"),
    WaMessage(at(2), URDU_NAME, URDU_TEXT),
    WaMessage(at(3), PHONE, "On my way"),
    WaMessage(at(4), None, "Ayesha Khan added Bilal Qureshi"),
    WaMessage(at(5), "Bilal Qureshi", "Thanks, see you at 10:30 - room 4"),
]


@pytest.mark.parametrize("layout", ["android", "ios"])
@pytest.mark.parametrize("locale", sorted(WA_LOCALES))
def test_whatsapp_layouts_and_locales(layout: str, locale: str) -> None:
    text = whatsapp_chat_text(CONVERSATION, layout=layout, locale=locale)
    assert whatsapp.looks_like_chat(text)
    chat = whatsapp.parse(text)
    assert (chat.app, chat.layout) == ("whatsapp", layout)
    got = [(m.line, m.end_line, m.sender, m.sent_at, m.text, m.system) for m in chat.messages]
    seconds = layout == "ios"
    assert got == [
        (1, 1, None, iso(at(0), seconds), "Ayesha Khan created group “Budget Team”", True),
        (
            2,
            3,
            "Ayesha Khan",
            iso(at(1), seconds),
            "Note: the memo is ready: page 2\nand page 3",
            False,
        ),
        (4, 5, URDU_NAME, iso(at(2), seconds), URDU_TEXT, False),
        (6, 6, "+92 300 1234567", iso(at(3), seconds), "On my way", False),
        (7, 7, None, iso(at(4), seconds), "Ayesha Khan added Bilal Qureshi", True),
        (8, 8, "Bilal Qureshi", iso(at(5), seconds), "Thanks, see you at 10:30 - room 4", False),
    ]
    assert all(m.attachments == () for m in chat.messages)
    sliced(text, chat)


def test_android_lines_exactly() -> None:
    text = whatsapp_chat_text(CONVERSATION[1:3])
    assert text == (
        "17/03/2026, 21:23 - Ayesha Khan: Note: the memo is ready: page 2\nand page 3\n"
        f"17/03/2026, 21:24 - {URDU_NAME}: {URDU_TEXT}\n"
    )
    first, second = whatsapp.parse(text).messages
    assert first.text_start == len("17/03/2026, 21:23 - Ayesha Khan: ")
    assert second.text_start == text.index(URDU_TEXT)


def test_ios_12h_with_narrow_no_break_space() -> None:
    text = whatsapp_chat_text(CONVERSATION[1:2], layout="ios", locale="en_US")
    assert text.startswith(f"[3/17/26, 9:23:39{NNBSP}PM] Ayesha Khan: Note:")
    (message,) = whatsapp.parse(text).messages
    assert message.sent_at == "2026-03-17T21:23:39"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"3/17/26, 12:05{NNBSP}AM - ", "2026-03-17T00:05:00"),
        (f"3/17/26, 12:05{NNBSP}PM - ", "2026-03-17T12:05:00"),
        ("3/17/26, 9:05 pm - ", "2026-03-17T21:05:00"),
        ("17/3/26, 9:05\u00a0p.\u00a0m. - ", "2026-03-17T21:05:00"),
        ("17/3/26, 9:05 a. m. - ", "2026-03-17T09:05:00"),
        ("[17/3/26, 11:59:59 p.m.] ", "2026-03-17T23:59:59"),
        ("١٧/٣/٢٠٢٦، ٩:٠٥ م - ", "2026-03-17T21:05:00"),
        ("١٧/٣/٢٠٢٦، ٩:٠٥ ص - ", "2026-03-17T09:05:00"),
    ],
)
def test_twelve_hour_clocks(header: str, expected: str) -> None:
    (message,) = whatsapp.parse(f"{header}Bilal: ready\n").messages
    assert (message.sender, message.sent_at, message.text) == ("Bilal", expected, "ready")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("17.03.26, 21:22 - ", "2026-03-17T21:22:00"),
        ("[17.03.26, 21:22:39] ", "2026-03-17T21:22:39"),
        ("2026-03-17 21:22 - ", "2026-03-17T21:22:00"),
        ("[2026-03-17, 21:22:39] ", "2026-03-17T21:22:39"),
        ("17/03/2026 21:22 - ", "2026-03-17T21:22:00"),
        ("17-03-2026, 21.22 - ", "2026-03-17T21:22:00"),
        ("2026. 03. 17. 21:22 - ", "2026-03-17T21:22:00"),
        ("[١٧‏/٠٣‏/٢٠٢٦، ٢١:٢٢:٣٩] ", "2026-03-17T21:22:39"),
        ("[۱۷/۰۳/۲۰۲۶, ۲۱:۲۲:۳۹] ", "2026-03-17T21:22:39"),
    ],
)
def test_date_forms_and_digits(header: str, expected: str) -> None:
    (message,) = whatsapp.parse(f"{header}{URDU_NAME}: {URDU_TEXT}\n").messages
    assert (message.sender, message.sent_at, message.text) == (URDU_NAME, expected, URDU_TEXT)


def test_urdu_digits_from_the_factory() -> None:
    text = whatsapp_chat_text(CONVERSATION, layout="ios", digits="urdu")
    assert text.startswith("[۱۷/۰۳/۲۰۲۶, ۲۱:۲۲:۳۹] ")
    chat = whatsapp.parse(text)
    assert [m.sent_at for m in chat.messages] == [iso(m.sent_at, True) for m in CONVERSATION]


def test_invisible_marks_anywhere_in_a_header() -> None:
    line = (
        f"{LRM}[{LRM}17{RLM}/03{RLM}/2026,\u00a0{LRM}21:22:39{NNBSP}]\u2068 {RLM}"
        f"\u202bعائشہ خان\u202c{LRM}: {RLM}text keeps its marks{LRM}\n"
    )
    (message,) = whatsapp.parse(line).messages
    assert message.sender == URDU_NAME
    assert message.sent_at == "2026-03-17T21:22:39"
    assert message.text == f"{RLM}text keeps its marks{LRM}"


def test_sender_ends_at_the_first_colon_space() -> None:
    text = "17/03/2026, 21:22 - Bilal Qureshi: Subject: leave: approved\n"
    (message,) = whatsapp.parse(text).messages
    assert (message.sender, message.text) == ("Bilal Qureshi", "Subject: leave: approved")


def test_system_lines_have_no_sender() -> None:
    text = (
        "17/03/2026, 21:22 - Notices here are invented for this test\n"
        f"17/03/2026, 21:23 - {LRM}Bilal Qureshi left\n"
        "17/03/2026, 21:24 - Ayesha Khan changed this group's icon\n"
        "17/03/2026, 21:25 - Bilal Qureshi: back\n"
    )
    chat = whatsapp.parse(text)
    assert [(m.sender, m.system) for m in chat.messages] == [
        (None, True),
        (None, True),
        (None, True),
        ("Bilal Qureshi", False),
    ]
    assert chat.messages[1].text == f"{LRM}Bilal Qureshi left"


def test_crlf_line_ends_stay_inside_the_text_only() -> None:
    text = whatsapp_chat_text(CONVERSATION[1:3], layout="ios", newline="\r\n")
    first, second = whatsapp.parse(text).messages
    assert first.text == "Note: the memo is ready: page 2\r\nand page 3"
    assert (first.line, first.end_line, second.line, second.end_line) == (1, 2, 3, 4)
    assert second.text == URDU_TEXT.replace("\n", "\r\n")
    sliced(text, whatsapp.parse(text))


def test_blank_and_header_like_lines_inside_a_message() -> None:
    text = (
        "17/03/2026, 21:22 - Ayesha Khan: Agenda\n"
        "\n"
        "1/2/3 is not a date line\n"
        "99/99/2026, 21:22 - Quoted: not a real header, it stays text\n"
        "\n"
        "\n"
        "17/03/2026, 21:30 - Bilal Qureshi: ok\n"
    )
    first, second = whatsapp.parse(text).messages
    assert first.text == (
        "Agenda\n\n1/2/3 is not a date line\n"
        "99/99/2026, 21:22 - Quoted: not a real header, it stays text"
    )
    assert (first.line, first.end_line, second.line) == (1, 4, 7)


# ---------------------------------------------------------------------------
# WhatsApp: day/month order
# ---------------------------------------------------------------------------


def _dates(lines: list[str]) -> list[str]:
    text = "".join(f"{stamp}, 10:00 - Ayesha: note {i}\n" for i, stamp in enumerate(lines))
    return [m.sent_at[:10] for m in whatsapp.parse(text).messages]


def test_day_first_when_a_first_field_is_over_12() -> None:
    assert _dates(["03/04/2026", "13/04/2026"]) == ["2026-04-03", "2026-04-13"]


def test_month_first_when_a_second_field_is_over_12() -> None:
    assert _dates(["03/04/2026", "04/13/2026"]) == ["2026-03-04", "2026-04-13"]


def test_ambiguous_order_keeps_time_running_forward() -> None:
    # January 5, February 3, March 1 written month first; day first they would go backwards.
    assert _dates(["1/5/26", "2/3/26", "3/1/26"]) == ["2026-01-05", "2026-02-03", "2026-03-01"]


def test_ambiguous_order_prefers_day_first() -> None:
    assert _dates(["3/4/26"]) == ["2026-04-03"]
    assert _dates(["3/4/26", "1/2/26"]) == ["2026-04-03", "2026-02-01"]


def test_conflicting_fields_follow_the_majority_and_drop_impossible_headers() -> None:
    text = (
        "13/03/2026, 10:00 - Ayesha: first\n"
        "14/03/2026, 10:00 - Ayesha: second, quoting:\n"
        "03/15/2026, 10:00 - Bilal: a line from another chat\n"
    )
    chat = whatsapp.parse(text)
    assert [m.sent_at[:10] for m in chat.messages] == ["2026-03-13", "2026-03-14"]
    assert chat.messages[1].text.endswith(
        "quoting:\n03/15/2026, 10:00 - Bilal: a line from another chat"
    )


def test_two_digit_years_are_this_century() -> None:
    assert _dates(["17/03/99"]) == ["2099-03-17"]


# ---------------------------------------------------------------------------
# WhatsApp: attachments
# ---------------------------------------------------------------------------

PHOTO_IOS = ios_media_name(12, "photo", T0, "jpg")
PHOTO_ANDROID = android_media_name("photo", T0, 3, "jpg")
MEMO_IOS = ios_document_name(13, "Budget memo.pdf")


def _attachment_chat(layout: str, locale: str, included: bool) -> list[WaMessage]:
    photo = PHOTO_IOS if layout == "ios" else PHOTO_ANDROID
    memo = MEMO_IOS if layout == "ios" and included else "Budget memo.pdf"
    return [
        WaMessage(at(0), "Ayesha Khan", "", WaAttachment(photo, "photo", included)),
        WaMessage(at(1), URDU_NAME, "", WaAttachment(memo, "document", included, pages=3)),
        WaMessage(
            at(2),
            "Bilal Qureshi",
            "Caption: the second page",
            WaAttachment(photo, "photo", included),
        ),
    ]


@pytest.mark.parametrize("locale", ["en_GB", "en_US", "de", "es", "fr"])
def test_ios_attachments(locale: str) -> None:
    text = whatsapp_chat_text(_attachment_chat("ios", locale, True), layout="ios", locale=locale)
    assert text.startswith(LRM + "[")
    chat = whatsapp.parse(text)
    assert [m.attachments for m in chat.messages] == [
        (AttachmentRef(PHOTO_IOS, included=True),),
        (AttachmentRef(MEMO_IOS, included=True, pages=3),),
        (AttachmentRef(PHOTO_IOS, included=True),),
    ]
    assert chat.messages[2].text.endswith("\nCaption: the second page")
    sliced(text, chat)


@pytest.mark.parametrize("locale", ["en_GB", "en_US", "de", "es", "fr"])
def test_ios_attachments_omitted(locale: str) -> None:
    text = whatsapp_chat_text(_attachment_chat("ios", locale, False), layout="ios", locale=locale)
    chat = whatsapp.parse(text)
    assert [m.attachments for m in chat.messages] == [
        (AttachmentRef("", included=False),),
        (AttachmentRef("Budget memo.pdf", included=False, pages=3),),
        (AttachmentRef("", included=False),),
    ]


@pytest.mark.parametrize("locale", sorted(WA_LOCALES))
def test_android_attachments(locale: str) -> None:
    text = whatsapp_chat_text(_attachment_chat("android", locale, True), locale=locale)
    chat = whatsapp.parse(text)
    assert [m.attachments for m in chat.messages] == [
        (AttachmentRef(PHOTO_ANDROID, included=True),),
        (AttachmentRef("Budget memo.pdf", included=True),),
        (AttachmentRef(PHOTO_ANDROID, included=True),),
    ]
    # The document's name is repeated as its caption: part of the message.
    assert chat.messages[1].text.endswith(")\nBudget memo.pdf")
    assert chat.messages[1].end_line == chat.messages[1].line + 1


@pytest.mark.parametrize("locale", ["en_GB", "en_US", "de", "es", "fr"])
def test_android_media_omitted(locale: str) -> None:
    text = whatsapp_chat_text(_attachment_chat("android", locale, False), locale=locale)
    chat = whatsapp.parse(text)
    assert [m.attachments for m in chat.messages] == [(AttachmentRef("", included=False),)] * 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Budget memo.pdf (file attached)", AttachmentRef("Budget memo.pdf", True)),
        (
            f"{LRM}Rapport.pdf • {LRM}3 pages {LRM}(fichier joint)",
            AttachmentRef("Rapport.pdf", True, 3),
        ),
        (
            "VID-20260317-WA0001.mp4 (archivo adjunto)",
            AttachmentRef("VID-20260317-WA0001.mp4", True),
        ),
        (
            "PTT-20260317-WA0002.opus (arquivo anexado)",
            AttachmentRef("PTT-20260317-WA0002.opus", True),
        ),
        ("IMG-20260317-WA0004.jpg (allegato)", AttachmentRef("IMG-20260317-WA0004.jpg", True)),
        ("<Video note omitted>", AttachmentRef("", False)),
        ("<Medien ausgeschlossen>", AttachmentRef("", False)),
        (
            f"{LRM}<attached: 00000014-Budget memo.pdf>",
            AttachmentRef("00000014-Budget memo.pdf", True),
        ),
        (
            f"Budget memo.pdf • {LRM}3 pages {LRM}<attached: 00000015-Budget memo.pdf>",
            AttachmentRef("00000015-Budget memo.pdf", True, 3),
        ),
        (f"{LRM}plan.dwg document omitted", AttachmentRef("plan.dwg", False)),
        (f"{LRM}document omitted", AttachmentRef("", False)),
        (f"{LRM}Contact card omitted", AttachmentRef("", False)),
        (f"{LRM}Image omitted", AttachmentRef("", False)),
        ("Sticker omitted", AttachmentRef("", False)),
    ],
)
def test_attachment_markers(body: str, expected: AttachmentRef) -> None:
    (message,) = whatsapp.parse(f"17/03/2026, 21:22 - Bilal: {body}\nnext line\n").messages
    assert message.attachments == (expected,)
    assert message.text == f"{body}\nnext line"


@pytest.mark.parametrize(
    "body",
    [
        "notes below (file attached)",
        "I think the image omitted the logo",
        "the report document omitted",
        "<not a marker>",
        "see <attached: nothing> later",
        "(file attached)",
    ],
)
def test_marker_words_in_prose_are_not_attachments(body: str) -> None:
    (message,) = whatsapp.parse(f"17/03/2026, 21:22 - Bilal: {body}\n").messages
    assert message.attachments == ()


def test_system_lines_carry_no_attachments() -> None:
    (message,) = whatsapp.parse("17/03/2026, 21:22 - <Media omitted>\n").messages
    assert message.system and message.attachments == ()


# ---------------------------------------------------------------------------
# WhatsApp: what is not a chat
# ---------------------------------------------------------------------------

NOT_CHATS = {
    "prose": (
        "The Eastbrook Valley Water Board met on 17 March 2026 at 10:30.\n"
        "Members agreed: the records room moves before the end of next month.\n"
    ),
    "csv": "date,time,sender,text\n17/03/2026,21:22,Ayesha,hello\n17/03/2026,21:23,Bilal,ok\n",
    "syslog": (
        "Mar 17 21:22:39 archive-01 sshd[811]: Accepted publickey for clerk\n"
        "Mar 17 21:22:40 archive-01 systemd[1]: Started Session 4 of user clerk.\n"
    ),
    "iso log": (
        "2026-03-17 21:22:39,120 - INFO - worker: batch 4 done\n"
        "2026-03-17 21:22:40,001 - INFO - worker: batch 5 done\n"
    ),
    "dated log without names": (
        "17/03/2026, 21:22 - backup started\n17/03/2026, 21:40 - backup finished\n"
    ),
    "memo": (
        "MEMORANDUM\n"
        "17/03/2026, 10:00 - Subject: relocation of the records room\n"
        "To: the Chief Engineer. From: the Records Supervisor.\n"
    ),
    "empty": "",
    "blank": "\n \n\t\n",
}


@pytest.mark.parametrize("name", sorted(NOT_CHATS))
def test_looks_like_chat_rejects(name: str) -> None:
    assert not whatsapp.looks_like_chat(NOT_CHATS[name])


@pytest.mark.parametrize("name", ["prose", "csv", "syslog", "iso log", "memo", "empty", "blank"])
def test_parse_rejects(name: str) -> None:
    with pytest.raises(ChatFormatError):
        whatsapp.parse(NOT_CHATS[name])


def test_text_before_the_first_message_is_an_error() -> None:
    with pytest.raises(ChatFormatError, match="line 2"):
        whatsapp.parse("\nend of an earlier message\n17/03/2026, 21:22 - Bilal: ok\n")
    assert issubclass(ChatFormatError, ExtractionError)


def test_looks_like_chat_reads_only_the_start() -> None:
    head = whatsapp_chat_text(CONVERSATION)
    assert whatsapp.looks_like_chat(head + "x" * 5_000_000)
    assert whatsapp.looks_like_chat("\ufeff" + head)
    assert not whatsapp.looks_like_chat("".join(f"line {i}\n" for i in range(50)) + head)


# ---------------------------------------------------------------------------
# WhatsApp: size and hostile lines
# ---------------------------------------------------------------------------


def test_a_two_megabyte_chat() -> None:
    messages = [
        WaMessage(
            T0 + timedelta(seconds=7 * i), ("Ayesha Khan", URDU_NAME)[i % 2], f"{i}: {URDU_TEXT}"
        )
        for i in range(22_000)
    ]
    text = whatsapp_chat_text(messages, layout="ios")
    assert len(text) > 2_000_000
    chat = whatsapp.parse(text)
    assert len(chat.messages) == 22_000
    assert chat.messages[-1].line == 43_999
    assert chat.messages[-1].sent_at == iso(messages[-1].sent_at, True)


def test_long_and_hostile_lines() -> None:
    spaces = "07/03/2026," + "\u00a0" * 200_000 + "x\n"
    marks = "[07/03/2026, 21:22:39" + LRM * 200_000 + "\n"
    no_colon = "17/03/2026, 21:22 - " + "word " * 200_000 + "\n"
    long_body = "17/03/2026, 21:23 - Bilal: " + "ب" * 1_000_000 + "\n"
    assert not whatsapp.looks_like_chat(spaces + marks)
    first, second = whatsapp.parse(no_colon + spaces + marks + long_body).messages
    assert first.system and first.end_line == 3
    assert len(second.text) == 1_000_000


# ---------------------------------------------------------------------------
# WhatsApp: properties over generated chats
# ---------------------------------------------------------------------------

_SENDERS = ["Ayesha Khan", URDU_NAME, PHONE, "Bilal Qureshi", f"{RLM}بلال{RLM}", "~\u202fSana"]
_LINE = st.text(
    alphabet=st.sampled_from([*"abc xyz:-,./[]()<>0123456789", "ہ", "ی", "۲", LRM, RLM, "\t"]),
    max_size=40,
).map(lambda s: "w" + s)  # a continuation line never starts like a header


@st.composite
def _messages(draw: st.DrawFn) -> list[WaMessage]:
    count = draw(st.integers(1, 12))
    gaps = draw(st.lists(st.integers(0, 60 * 24 * 40), min_size=count, max_size=count))
    out, when = [], datetime(2026, 1, 13, 8, 0, 0)  # the first day, 13, fixes the date order
    for gap in gaps:
        sender = draw(st.none() | st.sampled_from(_SENDERS))
        lines = draw(st.lists(_LINE, min_size=1, max_size=4))
        text = "\n".join(lines)
        # A notice has no colon (": " would read as a sender's name), and one line only.
        out.append(WaMessage(when, sender, text if sender else lines[0].replace(":", ";")))
        when += timedelta(minutes=gap, seconds=draw(st.integers(0, 59)))
    return out


@given(
    messages=_messages(),
    layout=st.sampled_from(["android", "ios"]),
    locale=st.sampled_from(sorted(WA_LOCALES)),
    newline=st.sampled_from(["\n", "\r\n"]),
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_generated_chats_round_trip(
    messages: list[WaMessage], layout: str, locale: str, newline: str
) -> None:
    text = whatsapp_chat_text(messages, layout=layout, locale=locale, newline=newline)
    chat = whatsapp.parse(text)
    assert len(chat.messages) == len(messages)
    sliced(text, chat)
    line = 1
    for got, sent in zip(chat.messages, messages, strict=True):
        expected_sender = (
            None if sent.sender is None else re.sub("[\u200e\u200f\u202a-\u202e]", "", sent.sender)
        )
        assert got.sender == expected_sender
        assert got.system is (sent.sender is None)
        assert got.text == sent.text.replace("\n", newline)
        assert got.sent_at == iso(sent.sent_at, layout == "ios")
        assert (got.line, got.end_line) == (line, line + sent.text.count("\n"))
        line = got.end_line + 1


# ---------------------------------------------------------------------------
# WhatsApp: export folders and zips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [False, True])
@pytest.mark.parametrize("layout", ["android", "ios"])
def test_whatsapp_export_files(tmp_path: Path, layout: str, zipped: bool) -> None:
    messages = _attachment_chat(layout, "en_GB", True)
    photo = PHOTO_IOS if layout == "ios" else PHOTO_ANDROID
    memo = MEMO_IOS if layout == "ios" else "Budget memo.pdf"
    target = tmp_path / ("WhatsApp Chat - Budget Team.zip" if zipped else "export")
    written = write_whatsapp_export(
        target,
        messages,
        layout=layout,
        zipped=zipped,
        attachments={photo: b"\xff\xd8jpeg", memo: b"%PDF-1.7"},
    )
    assert written == target
    chat_name = "_chat.txt" if layout == "ios" else "WhatsApp Chat with Budget Team.txt"
    if zipped:
        with zipfile.ZipFile(target) as archive:
            names = archive.namelist()
            text = archive.read(chat_name).decode("utf-8")
    else:
        names = [p.name for p in target.iterdir()]
        text = (target / chat_name).read_text(encoding="utf-8")
    assert sorted(names) == sorted([chat_name, photo, memo])
    refs = [ref.name for m in whatsapp.parse(text).messages for ref in m.attachments]
    assert set(refs) == {photo, memo}


# ---------------------------------------------------------------------------
# Telegram Desktop
# ---------------------------------------------------------------------------

TG_MESSAGES = [
    TgMessage(at(0), "Ayesha Khan", "", action="create_group"),
    TgMessage(at(1), "Ayesha Khan", "The memo: page 2\nand page 3"),
    TgMessage(
        at(2),
        URDU_NAME,
        [
            "فائل ",
            {"type": "bold", "text": "صفحہ ۲"},
            " دیکھیں، ",
            {"type": "link", "text": "https://example.org/x"},
        ],
        edited=at(3),
    ),
    TgMessage(
        at(4),
        "Bilal Qureshi",
        "Here it is",
        file="files/Budget memo.pdf",
        file_name="Budget memo.pdf",
    ),
    TgMessage(at(5), "Bilal Qureshi", "", file=FILE_NOT_INCLUDED, file_name="Annex B.docx"),
    TgMessage(
        at(6), "Bilal Qureshi", "photo of page 4", photo="photos/photo_1@17-03-2026_21-28-39.jpg"
    ),
    TgMessage(
        at(7), None, "from a deleted account", photo=FILE_NOT_INCLUDED, forwarded_from="Sana"
    ),
    TgMessage(at(8), "Ayesha Khan", "", action="pin_message", reply_to_message_id=2),
]
TG_FILES = {
    "files/Budget memo.pdf": b"%PDF-1.7 fictional",
    "photos/photo_1@17-03-2026_21-28-39.jpg": b"\xff\xd8jpeg",
}


def _object_lines(text: str, indent: int) -> list[tuple[int, int]]:
    """Lines of each message object's braces, found by indentation (independently of the parser)."""
    lines = text.split("\n")
    opens = [i + 1 for i, line in enumerate(lines) if line == " " * indent + "{"]
    closes = [i + 1 for i, line in enumerate(lines) if line.rstrip(",") == " " * indent + "}"]
    return list(zip(opens, closes, strict=True))


def test_telegram_one_chat(tmp_path: Path) -> None:
    result = write_telegram_export(tmp_path / "ChatExport_2026-03-17", TG_MESSAGES, files=TG_FILES)
    assert result.name == "result.json"
    assert (result.parent / "files" / "Budget memo.pdf").read_bytes() == TG_FILES[
        "files/Budget memo.pdf"
    ]
    data = result.read_bytes()
    assert telegram.looks_like_export(data)
    chat = telegram.parse(data)
    assert (chat.app, chat.layout) == ("telegram", "single_chat")
    got = [
        (m.sender, m.sent_at, m.text, m.attachments, m.system, m.text_start) for m in chat.messages
    ]
    assert got == [
        ("Ayesha Khan", iso(at(0), True), "", (), True, -1),
        ("Ayesha Khan", iso(at(1), True), "The memo: page 2\nand page 3", (), False, -1),
        (URDU_NAME, iso(at(2), True), "فائل صفحہ ۲ دیکھیں، https://example.org/x", (), False, -1),
        (
            "Bilal Qureshi",
            iso(at(4), True),
            "Here it is",
            (AttachmentRef("files/Budget memo.pdf", included=True),),
            False,
            -1,
        ),
        (
            "Bilal Qureshi",
            iso(at(5), True),
            "",
            (AttachmentRef("Annex B.docx", included=False),),
            False,
            -1,
        ),
        (
            "Bilal Qureshi",
            iso(at(6), True),
            "photo of page 4",
            (AttachmentRef("photos/photo_1@17-03-2026_21-28-39.jpg", included=True),),
            False,
            -1,
        ),
        (
            None,
            iso(at(7), True),
            "from a deleted account",
            (AttachmentRef("", included=False),),
            False,
            -1,
        ),
        ("Ayesha Khan", iso(at(8), True), "", (), True, -1),
    ]
    assert [(m.line, m.end_line) for m in chat.messages] == _object_lines(data.decode(), 2)


def test_telegram_json_is_pretty_printed_like_telegram_desktop() -> None:
    text = telegram_chat_json(TgChat("Budget Team", TG_MESSAGES[1:2]))
    assert text.startswith(
        '{\n "name": "Budget Team",\n "type": "private_group",\n "id": 4000000001,\n'
    )
    assert '  {\n   "id": 1,\n   "type": "message",\n   "date": "2026-03-17T21:23:39",\n' in text


def test_telegram_account_export(tmp_path: Path) -> None:
    chats = [
        TgChat("Budget Team", TG_MESSAGES[:3]),
        TgChat("Bilal Qureshi", TG_MESSAGES[3:5], "personal_chat", 5),
    ]
    left = [TgChat("Old Group", TG_MESSAGES[5:6], "private_supergroup", 6)]
    result = write_telegram_account_export(tmp_path, chats, left_chats=left, files=TG_FILES)
    data = result.read_bytes()
    assert telegram.looks_like_export(data)
    chat = telegram.parse(data)
    assert chat.layout == "all_chats"
    assert [m.text for m in chat.messages] == [
        "",
        "The memo: page 2\nand page 3",
        "فائل صفحہ ۲ دیکھیں، https://example.org/x",
        "Here it is",
        "",
        "photo of page 4",
    ]
    assert [(m.line, m.end_line) for m in chat.messages] == _object_lines(data.decode(), 5)


def test_telegram_account_export_without_chats() -> None:
    data = telegram_account_json([]).encode()
    assert telegram.looks_like_export(data)
    assert telegram.parse(data).messages == ()


def test_telegram_byte_order_mark_and_compact_json() -> None:
    compact = json.dumps(json.loads(telegram_chat_json(TgChat("Budget Team", TG_MESSAGES))))
    chat = telegram.parse(b"\xef\xbb\xbf" + compact.encode())
    assert len(chat.messages) == len(TG_MESSAGES)
    assert {m.line for m in chat.messages} == {1}


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.999])
def test_truncated_telegram_json(cut: float) -> None:
    data = telegram_chat_json(TgChat("Budget Team", TG_MESSAGES)).encode()
    with pytest.raises(ChatFormatError, match=r"line \d+, column \d+"):
        telegram.parse(data[: int(len(data) * cut)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[]", "JSON object"),
        (b'{"name": "x"}', "no messages and no chats"),
        (b'{"messages": [1]}', "message object"),
        (b'{"messages": [{"id": 1}]}', "message object"),
        (b'{"messages": []} []', "extra data"),
        (b'{"messages": [] "name": "x"}', "expected ','"),
        (b'{"messages": []}\xff', "UTF-8"),
        (b"", "JSON object"),
        (b'{"messages": [{"date": "2026-03-17T21:22:39", "text": ' + b"[" * 100_000, "nested"),
    ],
)
def test_invalid_telegram_json(data: bytes, message: str) -> None:
    with pytest.raises(ChatFormatError, match=message):
        telegram.parse(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[1, 2]",
        b"plain text",
        b'{"id": 7, "type": "note", "messages": []}',
        b'{"about": "x", "settings": {}}',
        json.dumps(
            {"name": "Budget Team", "type": "private_group", "id": 1, "messages": []}
        ).encode("utf-16"),
    ],
)
def test_looks_like_export_rejects(data: bytes) -> None:
    assert not telegram.looks_like_export(data)


def test_looks_like_export_reads_only_the_start() -> None:
    head = telegram_chat_json(TgChat("Budget Team", TG_MESSAGES)).encode()
    assert telegram.looks_like_export(head[:300])
    assert telegram.looks_like_export(b"\xef\xbb\xbf\n" + head + b"x" * 1_000_000)
