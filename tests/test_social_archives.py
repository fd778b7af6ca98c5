"""Social-media archives as chat streams: Facebook, Instagram, Messenger, X, Google Chat.

Parsing each real layout (written by tests/social_factories.py), Meta's mojibake
repaired (Urdu, emoji, strings half right), attachments found from the archive's
root, bad input read around or refused in one line, and scans end to end: a
planted passage in a message and in a file it sent is found, with sender, time
and the message that sent the file; innocent archives give nothing.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan import Finding, Index, Scanner, ScanOptions, Summary
from leakscan.exports import chat as chat_module
from leakscan.exports import social, social_json
from leakscan.exports.chat import ChatFormatError, Message
from leakscan.exports.chat_apps import iter_chat
from leakscan.exports.folders import attachment_location, chat_app, chat_candidate
from leakscan.records import NoteRecord
from tests.indexes import build_text_index
from tests.social_factories import (
    META_PREFIX,
    ChatPost,
    Conversation,
    DirectMessage,
    MetaMessage,
    MetaPost,
    MetaThread,
    Tweet,
    meta_thread_json,
    mojibake,
    write_google_chat,
    write_messenger_e2ee,
    write_meta_archive,
    write_x_archive,
)
from tests.texts import prose, urdu_prose

KEY = b"s" * 32
PLAN = prose(171, 600)
BUDGET = prose(172, 500)
URDU = urdu_prose(173, 400)
T0 = datetime(2026, 3, 7, 21, 0, 0)
AYESHA, BILAL, IMRAN = "Ayesha Khan", "Bilal Qureshi", "عمران سلطان"


def _blank_png() -> bytes:
    """A real (blank) picture: a photo a post carries, with no text to read."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "white").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _blank_png()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def z(minutes: int) -> str:
    return at(minutes).isoformat() + "Z"


def words(text: str, start: int, count: int) -> str:
    return " ".join(text.split()[start : start + count])


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def read(app: str, data: bytes) -> tuple[list[Message], chat_module.ChatStream]:
    stream = social.iter_messages(app, io.BytesIO(data))
    return list(stream), stream


def brace_line(text: str, needle: str, indent: int | None = None) -> int:
    """The line of the ``{`` opening the object around the first ``needle``: the innermost,
    or the one indented by ``indent`` (found by indentation, not by the parser)."""
    lines = text.split("\n")
    hit = next(i for i, line in enumerate(lines) if needle in line)
    if indent is None:
        indent = len(lines[hit]) - len(lines[hit].lstrip()) - 2
    return next(i for i in range(hit, -1, -1) if lines[i] == " " * indent + "{") + 1


TALK = (
    MetaMessage(AYESHA, at(0), "Are you coming to the meeting tomorrow?"),
    MetaMessage(BILAL, at(1), "Yes, I will bring the tea."),
)


def facebook_thread(*middle: MetaMessage) -> MetaThread:
    return MetaThread(
        "budgetteam_10158362",
        "Budget Team",
        (AYESHA, BILAL, IMRAN),
        (*TALK, *middle, MetaMessage(AYESHA, at(30), "Thanks, see you then.")),
    )


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def test_facebook_thread_messages_with_their_lines_times_and_files() -> None:
    thread = facebook_thread(
        MetaMessage(IMRAN, at(5), "ملاقات کل ہے 😊", (("photos", "388_1061.jpg", PNG),)),
        MetaMessage(BILAL, at(6), None, (("files", "Budget memo.docx", b"x"),), unsent=True),
        MetaMessage(AYESHA, at(7), "Ayesha added Imran to the group.", kind="Subscribe"),
    )
    text = meta_thread_json("facebook", thread)
    assert "\\u00d9" in text and "ملاقات" not in text  # written as Meta writes it
    got, stream = read("facebook", text.encode())
    assert stream.layout == "thread" and stream.notes == []
    assert [m.sender for m in got] == [AYESHA, AYESHA, BILAL, IMRAN, BILAL, AYESHA]  # newest first
    urdu = got[3]
    assert urdu.text == "ملاقات کل ہے 😊" and urdu.sender == IMRAN
    assert urdu.sent_at == z(5) and urdu.conversation == "Budget Team" and urdu.via == "Facebook"
    base = "your_facebook_activity/messages/inbox/budgetteam_10158362"
    assert [a.name for a in urdu.attachments] == [f"{base}/photos/388_1061.jpg"]
    assert urdu.line == brace_line(text, "\\u00d9\\u0085\\u00d9\\u0084") and urdu.text_start == -1
    assert text.split("\n")[urdu.end_line - 1].strip() in ("}", "},")
    unsent = got[2]
    assert unsent.deleted and unsent.text == "" and unsent.attachments[0].name.endswith(".docx")
    assert got[1].system and not got[0].system
    assert all(m.from_me is None for m in got)


@pytest.mark.parametrize("layout", ["facebook-old", "facebook-2022", "instagram"])
def test_every_meta_layout_reads_alike(layout: str) -> None:
    text = meta_thread_json(layout, facebook_thread())
    path = f"{META_PREFIX[layout]}messages/inbox/x/message_1.json"
    app = social.looks_like_export(text.encode(), path)
    assert app == ("instagram" if layout == "instagram" else "facebook")
    got, _ = read(app, text.encode())
    assert [m.text for m in got][-1] == "Are you coming to the meeting tomorrow?"
    assert got[0].via == ("Instagram" if app == "instagram" else "Facebook")


def test_a_thread_without_title_is_named_by_its_participants() -> None:
    document = json.loads(meta_thread_json("facebook", facebook_thread()))
    del document["title"]
    document["participants"] = [{"name": mojibake(f"Person {i} ب")} for i in range(12)]
    got, _ = read("facebook", json.dumps(document, indent=2).encode())
    assert got[0].conversation == ", ".join(f"Person {i} ب" for i in range(8)) + " and 4 more"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        pytest.param(mojibake("بندرگاہ پر کشتی"), "بندرگاہ پر کشتی", id="urdu"),
        pytest.param(mojibake("👍🏽 ok ❤️"), "👍🏽 ok ❤️", id="emoji"),
        pytest.param("ملاقات " + mojibake("کل صبح دفتر"), "ملاقات کل صبح دفتر", id="mixed-urdu"),
        pytest.param(mojibake("Café") + " 😊 " + "نیا", "Café 😊 نیا", id="mixed-emoji"),
        pytest.param("café naïve", "café naïve", id="latin-1-left-alone"),
        pytest.param("plain ascii", "plain ascii", id="ascii"),
        pytest.param("بندرگاہ", "بندرگاہ", id="already-right"),
    ],
)
def test_mojibake_is_repaired_and_right_text_left_alone(written: str, meant: str) -> None:
    assert social_json.repair(written) == meant
    thread = json.loads(meta_thread_json("facebook", facebook_thread()))
    thread["messages"][0]["content"] = written
    thread["messages"][0]["sender_name"] = written
    got, _ = read("facebook", json.dumps(thread).encode())
    assert got[0].text == meant and got[0].sender == meant


def test_facebook_and_instagram_posts(tmp_path: Path) -> None:
    posts = [
        MetaPost(at(1), "Back home after a long week.", (("9817_6252.jpg", PNG),)),
        MetaPost(at(2), "بندرگاہ پر شام"),
        MetaPost(at(3), None, (("5521_1.jpg", PNG),)),
    ]
    for layout, path in (
        (
            "facebook",
            "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json",
        ),
        ("facebook-old", "posts/your_posts_1.json"),
        ("instagram", "your_instagram_activity/content/posts_1.json"),
    ):
        root = write_meta_archive(tmp_path / layout, posts=posts, layout=layout)
        data = (root / path).read_bytes()
        app = "instagram" if layout == "instagram" else "facebook"
        assert social.looks_like_export(data, path.rsplit("/", 1)[1]) == app
        got, stream = read(app, data)
        assert stream.layout == "posts"
        assert [m.text for m in got] == ["Back home after a long week.", "بندرگاہ پر شام", ""]
        assert [m.sent_at for m in got] == [z(1), z(2), z(3)]
        assert all(m.from_me and m.sender is None and m.conversation == "posts" for m in got)
        assert not got[1].attachments
        first = got[0].attachments[0].name
        assert first.endswith("9817_6252.jpg") and (root / first).is_file()


def test_messenger_encrypted_chat_export(tmp_path: Path) -> None:
    messages = [
        MetaMessage(AYESHA, at(1), "Did you get the file?"),
        MetaMessage(IMRAN, at(2), "ہاں، مل گئی 👍", (("media", "a.jpeg", PNG),)),
        MetaMessage(IMRAN, at(3), "", unsent=True),
    ]
    path = write_messenger_e2ee(tmp_path, f"{IMRAN}_40", [AYESHA, IMRAN], messages)
    data = path.read_bytes()
    assert social.looks_like_export(data, path.name) == "messenger"
    got, _ = read("messenger", data)
    assert [m.text for m in got] == ["", "ہاں، مل گئی 👍", "Did you get the file?"]
    assert got[1].sender == IMRAN and got[1].sent_at == z(2) and got[0].deleted
    assert got[1].conversation == f"{IMRAN}_40" and got[1].via == "Messenger"
    (ref,) = got[1].attachments
    assert ref.name.startswith("./media/") and (tmp_path / ref.name).is_file()


def test_x_tweets_notes_and_direct_messages(tmp_path: Path) -> None:
    root = write_x_archive(
        tmp_path / "x",
        tweets=[Tweet("1766", at(1), "Tea & talks <today>", (("Fq3Xk.jpg", PNG),))],
        notes=[Tweet("1767", at(2), "A long note " * 40)],
        conversations=[
            Conversation(
                "7001-7002",
                (
                    DirectMessage("90001", "7001", "7002", at(3), "hello"),
                    DirectMessage("90002", "7002", "7001", at(4), "here", (("Kq0.jpg", PNG),)),
                ),
            ),
            Conversation(
                "1500000000000000001",
                (DirectMessage("90003", "7003", None, at(5), "group hello"),),
                group=True,
                events=[{"joinConversation": {"initiatingUserId": "7003", "createdAt": "x"}}],
            ),
        ],
    )
    data = root / "data"
    tweets, stream = read("twitter", (data / "tweets.js").read_bytes())
    (tweet,) = tweets
    assert stream.layout == "tweets" and tweet.text == "Tea & talks <today>"
    assert tweet.sent_at == z(1) and tweet.from_me and tweet.conversation == "tweets"
    assert [a.name for a in tweet.attachments] == ["tweets_media/1766-Fq3Xk.jpg"]
    assert (data / tweet.attachments[0].name).is_file()
    assert tweet.line == 2 and tweet.via == "X"
    (note,) = read("twitter", (data / "note-tweet.js").read_bytes())[0]
    assert note.text == "A long note " * 40 and note.sent_at == z(2)
    dms, stream = read("twitter", (data / "direct-messages.js").read_bytes())
    assert stream.layout == "direct_messages"
    assert [(m.sender, m.text, m.sent_at) for m in dms] == [
        ("7002", "here", z(4)),
        ("7001", "hello", z(3)),
    ]
    assert dms[0].conversation == "7001-7002" and dms[0].from_me is None
    assert [a.name for a in dms[0].attachments] == ["direct_messages_media/90002-Kq0.jpg"]
    assert (data / dms[0].attachments[0].name).is_file()
    group, _ = read("twitter", (data / "direct-messages-group.js").read_bytes())
    assert [(m.sender, m.conversation) for m in group] == [("7003", "1500000000000000001")]
    for name in ("tweets.js", "note-tweet.js", "direct-messages.js", "direct-messages-group.js"):
        assert social.looks_like_export((data / name).read_bytes(), f"data/{name}") == "twitter"
    assert social.looks_like_export((data / "account.js").read_bytes(), "account.js") is None


def test_google_chat_messages(tmp_path: Path) -> None:
    members = {AYESHA: "ayesha@example.org", IMRAN: "imran@example.org"}
    posts = [
        ChatPost(AYESHA, members[AYESHA], at(1), "Morning all"),
        ChatPost(IMRAN, members[IMRAN], at(14 * 60), "رپورٹ ساتھ ہے", (("plan?x=1.docx", b"d"),)),
    ]
    root = write_google_chat(tmp_path / "takeout", "AAAAq1w2e3r", "Harbour Ops", members, posts)
    folder = root / "Google Chat" / "Groups" / "Space AAAAq1w2e3r"
    data = (folder / "messages.json").read_bytes()
    assert b"\\u003d" in data and "\u202fPM".encode() in data
    assert social.looks_like_export(data, "messages.json") == "google-chat"
    for other in ("group_info.json",):
        assert social.looks_like_export((folder / other).read_bytes(), other) is None
    got, _ = read("google-chat", data)
    assert [(m.sender, m.sent_at, m.text) for m in got] == [
        (AYESHA, z(1), "Morning all"),
        (IMRAN, z(14 * 60), "رپورٹ ساتھ ہے"),
    ]
    assert got[1].conversation == "AAAAq1w2e3r" and got[1].via == "Google Chat"
    (ref,) = got[1].attachments
    assert ref.name == "File-plan_x=1.docx" and (folder / ref.name).is_file()


@pytest.mark.parametrize(
    ("head", "name", "app"),
    [
        (b'{"name": "Ops", "type": "private_group", "id": 7, "messages": [', "result.json", None),
        (b'{"comments_v2": [{"timestamp": 1, "data": [{"comment": {}}]}]}', "comments.json", None),
        (b'[{"timestamp": 1, "data": [{"post": "x"}]}]', "notes.json", None),
        (b'[{"timestamp": 1, "data": [{"post": "x"}]}]', "your_posts_1.json", "facebook"),
        (
            b'{"participants": ["A", "B"], "threadName": "B_1", "messages": []}',
            "B_1.json",
            "messenger",
        ),
        (b'{"participants": [{"name": "A"}], "messages": []', "message_1.json", None),
        (
            b'{"messages": [{"creator": {"name": "A"}, "created_date": "',
            "messages.json",
            "google-chat",
        ),
        (b'{"messages": [{"text": "x"}]}', "messages.json", None),
        (b"window.YTD.like.part0 = [", "like.js", None),
        (b"window.YTD.tweets.part3 = [", "tweets-part3.js", "twitter"),
        (b"var tweets = [", "tweets.js", None),
        (b"window.YTD.tweets.part0 = [", "tweets.json", None),
        (b"\xef\xbb\xbf  window.YTD.direct_messages.part0 = [", "direct-messages.js", "twitter"),
    ],
)
def test_which_files_are_archives(head: bytes, name: str, app: str | None) -> None:
    assert social.looks_like_export(head, name) == app
    assert chat_candidate(name)
    expected = "telegram" if name == "result.json" else app
    assert chat_app(head, name) == expected


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

THREAD = meta_thread_json(
    "facebook",
    facebook_thread(*(MetaMessage(BILAL, at(2 + i), f"message {i} ب") for i in range(6))),
).encode()


@given(cut=st.integers(0, len(THREAD) - 1), chunk=st.sampled_from([7, 1 << 20]))
@settings(max_examples=60, deadline=None)
def test_truncated_thread_gives_the_messages_before_the_cut_then_an_error(
    cut: int, chunk: int
) -> None:
    expected, _ = read("facebook", THREAD)
    got: list[Message] = []
    with mock.patch.object(chat_module, "CHUNK_BYTES", chunk):
        stream = social.iter_messages("facebook", io.BytesIO(THREAD[:cut]))
        with pytest.raises(ChatFormatError, match=r"Facebook JSON|no messages|object or array"):
            got.extend(stream)
    unnamed = [replace(m, conversation=None) for m in got]
    assert unnamed == [replace(m, conversation=None) for m in expected[: len(got)]]
    lines = THREAD.decode().split("\n")
    # where each message's closing brace ends (all of it ASCII: characters are bytes)
    ends = [
        len("\n".join(lines[: m.end_line - 1])) + 1 + lines[m.end_line - 1].index("}") + 1
        for m in expected
    ]
    assert len(got) == sum(end <= cut for end in ends)
    # a thread whose title (written after the messages) is cut off is named by its participants
    assert {m.conversation for m in got} <= {"Budget Team", f"{AYESHA}, {BILAL}, {IMRAN}"}


@pytest.mark.parametrize(
    ("data", "texts", "notes"),
    [
        (b'{"participants": 5, "messages": [7, "x", {"content": 5, "photos": "p"}]}', [""], 2),
        (b'{"messages": {"a": 1}, "title": ["x"]}', [], 0),
        (
            b'{"messages": [{"content": "a", "timestamp_ms": "soon", "sender_name": 3,'
            b' "photos": [{"uri": 4}, {"uri": "https://cdn.example/x.jpg"}, "y"]}]}',
            ["a"],
            0,
        ),
        (b'{"messages": [{"content": "a", "timestamp_ms": 1e300}], "title": "t"}', ["a"], 0),
        (b'[{"timestamp": "x", "data": "y", "attachments": [{"data": [{"media": 1}]}]}]', [""], 0),
    ],
)
def test_wrong_shapes_are_read_around(data: bytes, texts: list[str], notes: int) -> None:
    got, stream = read("facebook", data)
    assert [m.text for m in got] == texts
    assert all(m.attachments == () and m.sent_at == "" and m.sender is None for m in got)
    assert len(stream.notes) == notes


@pytest.mark.parametrize(
    ("app", "data", "message"),
    [
        ("facebook", b'"a string"', "JSON object or array"),
        ("facebook", b'{"title": "x"}', "no messages"),
        ("facebook", b'{"messages": []} {"messages": []}', "extra data"),
        ("twitter", b'var x = [{"tweet": {}}]', "window.YTD"),
        ("twitter", b"", "window.YTD"),
        ("twitter", b'window.YTD.account.part0 = [{"account": {}}]', "without messages"),
        ("twitter", b'window.YTD.tweets.part0 = [{"tweet": {}}] alert(1)', "extra data"),
        ("twitter", b'window.YTD.tweets.part0 = {"tweet": 1}', "expected '\\['"),
        ("google-chat", b"[]", "JSON object"),
        ("google-chat", b'{"members": []}', "no messages"),
        ("snapchat", b"{}", "not a social archive"),
    ],
)
def test_what_is_no_archive_is_refused_in_one_line(app: str, data: bytes, message: str) -> None:
    with pytest.raises(ChatFormatError, match=message) as caught:
        read(app, data)
    assert "\n" not in str(caught.value)


def test_x_data_ending_with_a_semicolon_is_read() -> None:
    data = b'window.YTD.tweets.part0 = [{"tweet": {"full_text": "hi", "id_str": "1"}}];\n'
    got, _ = read("twitter", data)
    assert [m.text for m in got] == ["hi"]


def test_huge_and_deep_messages_are_skipped_with_one_note_each_kind() -> None:
    thread = json.loads(THREAD)
    deep = "[" * 3000 + "]" * 3000
    thread["messages"][1] = {"sender_name": "A", "content": "y" * 25000}
    thread["messages"][2] = "DEEP"
    thread["messages"][3] = {"sender_name": "A", "nested": "DEEP"}
    thread["messages"][4] = {"sender_name": "A", "content": "z" * 25000}
    data = json.dumps(thread, indent=1).replace('"DEEP"', deep).encode()
    with mock.patch.object(social_json, "MAX_VALUE_CHARS", 20000):
        got, stream = read("facebook", data)
    expected = json.loads(THREAD)["messages"]
    assert [m.text for m in got] == [
        social_json.repair(expected[i]["content"]) for i in (0, 5, 6, 7, 8)
    ]
    assert len(stream.notes) == 4, stream.notes
    assert "a message over 20000 characters was skipped" in stream.notes[0]
    assert "nested too deeply" in stream.notes[1]
    assert stream.notes[2].startswith("2 skipped in all: a message over 20000")
    assert stream.notes[3].startswith("2 skipped in all: a message nested too deeply")


def test_a_huge_message_text_is_cut() -> None:
    thread = json.loads(THREAD)
    thread["messages"][0]["content"] = mojibake("ب") * 50
    with mock.patch.object(social_json, "MAX_MESSAGE_CHARS", 60):
        got, stream = read("facebook", json.dumps(thread).encode())
    assert got[0].text == "ب" * 30  # cut before repair: 60 characters are 30 letters
    assert stream.notes == ["line 1: message text cut after 60 characters (40 more not read)"]


def test_what_is_held_stays_small_however_large_the_thread() -> None:
    many = MetaThread(
        "x_1",
        "T",
        (AYESHA,),
        tuple(MetaMessage(AYESHA, at(i % 600), f"note {i} " + "word " * 40) for i in range(3000)),
    )
    data = meta_thread_json("facebook", many).encode()
    held: list[int] = []
    more = social_json.JsonText.more

    def watched(self: social_json.JsonText, at_least: int = 1) -> bool:
        held.append(len(self.text))
        return more(self, at_least)

    with (
        mock.patch.object(social_json.JsonText, "more", watched),
        mock.patch.object(chat_module, "CHUNK_BYTES", 4096),
        mock.patch.object(social_json, "_DROP", 4096),
    ):
        got, _ = read("facebook", data)
    assert len(got) == 3000 and got[-1].text.startswith("note 0 ")
    assert got[0].conversation == "T"  # the title, after the messages: found by the first pass
    assert len(data) > 600_000 and max(held) < 20_000


@given(flips=st.lists(st.tuples(st.integers(0, len(THREAD) - 1), st.integers(0, 255)), max_size=6))
@settings(max_examples=80, deadline=None)
def test_damaged_bytes_raise_nothing_but_chat_format_error(flips: list[tuple[int, int]]) -> None:
    data = bytearray(THREAD)
    for where, byte in flips:
        data[where] = byte
    for app in ("facebook", "google-chat"):
        try:
            for message in social.iter_messages(app, io.BytesIO(bytes(data))):
                assert isinstance(message, Message)
        except ChatFormatError:
            pass


def test_a_stream_that_cannot_seek_is_read_twice_from_a_copy() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    got = list(iter_chat("facebook", io.BufferedReader(OneWay(THREAD))))
    assert got == read("facebook", THREAD)[0] and got[0].conversation == "Budget Team"


# ---------------------------------------------------------------------------
# Attachments from the archive's root
# ---------------------------------------------------------------------------


def test_attachment_location_climbs_to_the_archive_root(tmp_path: Path) -> None:
    names = {"fb/messages/inbox/x/photos/1.jpg", "fb/media/posts/1.jpg", "chat/a.jpg"}
    has = names.__contains__
    inbox = "fb/messages/inbox/x"
    assert attachment_location(inbox, "messages/inbox/x/photos/1.jpg", has) == (
        "fb/messages/inbox/x/photos/1.jpg"
    )
    assert attachment_location("chat", "a.jpg", has) == "chat/a.jpg"
    assert attachment_location("fb/content", "media/posts/1.jpg", has) == "fb/media/posts/1.jpg"
    # no higher than the name has folders, and the place beside the chat when none is there
    assert attachment_location("fb/a/b/c", "media/posts/1.jpg", has) == "fb/a/b/c/media/posts/1.jpg"
    assert attachment_location("", "x/y.jpg", has) == "x/y.jpg"
    photo = tmp_path / "messages" / "inbox" / "x" / "photos" / "1.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(PNG)
    import os

    found = attachment_location(
        str(photo.parent.parent), "messages/inbox/x/photos/1.jpg", os.path.isfile, os.path
    )
    assert found == str(photo)


# ---------------------------------------------------------------------------
# Scans end to end
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("social-index")
    documents = {"ops/harbour plan.txt": PLAN, "Budget memo.txt": BUDGET, "urdu.txt": URDU}
    return build_text_index(folder, documents, KEY)


def scan(index_path: Path, *targets: Path) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        records = list(Scanner(index, ScanOptions(jobs=1)).scan(targets))
    summary = records[-1]
    assert isinstance(summary, Summary)
    return records


def findings(records: list[object]) -> list[Finding]:
    return [r for r in records if isinstance(r, Finding)]


@dataclass(frozen=True)
class Planted:
    """An archive holding PLAN pasted into a message and BUDGET in a file another sent."""

    target: Path
    chat: str  # the locator of the chat file
    text: str  # the chat file's text (to find the message's line independently)
    needle: str  # a string of the planted message, as written in the file
    attachment: str  # the locator of the file sent
    attachment_needle: str
    sender: str | None
    sent_at: str
    attachment_sender: str
    app: str
    conversation: str | None
    indent: int = 4  # of a message object's brace


PASTED = words(PLAN, 200, 40)
MEMO = docx_bytes(BUDGET)


def _meta(tmp_path: Path, layout: str, zipped: bool) -> Planted:
    thread = facebook_thread(
        MetaMessage(BILAL, at(4), "Look at this:"),
        MetaMessage(IMRAN, at(5), PASTED),
        MetaMessage(AYESHA, at(6), None, (("files", "Budget memo.docx", MEMO),)),
    )
    target = write_meta_archive(tmp_path / layout, [thread], layout=layout, zipped=zipped)
    relative = (
        f"{'your_instagram_activity/' if layout == 'instagram' else 'your_facebook_activity/'}"
    )
    relative += "messages/inbox/budgetteam_10158362"
    holder = f"{target}!" if zipped else f"{target}/"
    return Planted(
        target,
        f"{holder}{relative}/message_1.json",
        meta_thread_json(layout, thread),
        json.dumps(mojibake(PASTED))[1:30],
        f"{holder}{relative}/files/Budget memo.docx",
        "Budget memo.docx",
        IMRAN,
        z(5),
        AYESHA,
        "Instagram" if layout == "instagram" else "Facebook",
        "Budget Team",
    )


def _messenger(tmp_path: Path, zipped: bool) -> Planted:
    folder = tmp_path / "messenger"
    messages = [
        MetaMessage(AYESHA, at(1), "Did you get it?"),
        MetaMessage(IMRAN, at(5), PASTED),
        MetaMessage(AYESHA, at(6), "", (("media", "memo.docx", MEMO),)),
    ]
    chat = write_messenger_e2ee(folder, f"{IMRAN}_40", [AYESHA, IMRAN], messages)
    stored = next((folder / "media").iterdir()).name
    return Planted(
        folder,
        str(chat),
        chat.read_text(encoding="utf-8"),
        PASTED[:30],
        str(folder / "media" / stored),
        "memo.docx",
        IMRAN,
        z(5),
        AYESHA,
        "Messenger",
        f"{IMRAN}_40",
    )


def _x(tmp_path: Path, zipped: bool) -> Planted:
    conversation = Conversation(
        "7001-7002",
        (
            DirectMessage("90001", "7001", "7002", at(1), "hello"),
            DirectMessage("90002", "7002", "7001", at(5), PASTED),
            # a document under the name the archive gives DM media (its type is read from
            # its bytes, not its name)
            DirectMessage("90003", "7001", "7002", at(6), "", (("Kq0xT.jpg", MEMO),)),
        ),
    )
    target = write_x_archive(tmp_path / "x", conversations=[conversation], zipped=zipped)
    holder = f"{target}!" if zipped else f"{target}/"
    text = _read_member(target, "data/direct-messages.js", zipped)
    return Planted(
        target,
        f"{holder}data/direct-messages.js",
        text,
        PASTED[:30],
        f"{holder}data/direct_messages_media/90003-Kq0xT.jpg",
        "90003",
        "7002",
        z(5),
        "7001",
        "X",
        "7001-7002",
        indent=8,
    )


def _google(tmp_path: Path, zipped: bool) -> Planted:
    members = {AYESHA: "ayesha@example.org", IMRAN: "imran@example.org"}
    posts = [
        ChatPost(AYESHA, members[AYESHA], at(1), "Morning all"),
        ChatPost(IMRAN, members[IMRAN], at(5), PASTED),
        ChatPost(AYESHA, members[AYESHA], at(6), None, (("Budget memo.docx", MEMO),)),
    ]
    target = write_google_chat(tmp_path / "takeout", "AAAAq1w2e3r", "Ops", members, posts, zipped)
    folder = "Google Chat/Groups/Space AAAAq1w2e3r"
    holder = f"{target}!Takeout/" if zipped else f"{target}/"
    member = f"Takeout/{folder}/messages.json" if zipped else f"{folder}/messages.json"
    return Planted(
        target,
        f"{holder}{folder}/messages.json",
        _read_member(target, member, zipped),
        PASTED[:30],
        f"{holder}{folder}/File-Budget memo.docx",
        "Budget memo.docx",
        IMRAN,
        z(5),
        AYESHA,
        "Google Chat",
        "AAAAq1w2e3r",
    )


def _read_member(target: Path, member: str, zipped: bool) -> str:
    if zipped:
        with zipfile.ZipFile(target) as archive:
            return archive.read(member).decode("utf-8")
    return (target / member).read_text(encoding="utf-8")


PLANTERS: dict[str, Callable[[Path], Planted]] = {
    "facebook-folder": lambda p: _meta(p, "facebook", False),
    "facebook-zip": lambda p: _meta(p, "facebook", True),
    "instagram-zip": lambda p: _meta(p, "instagram", True),
    "messenger-folder": lambda p: _messenger(p, False),
    "x-folder": lambda p: _x(p, False),
    "x-zip": lambda p: _x(p, True),
    "google-chat-folder": lambda p: _google(p, False),
    "google-chat-zip": lambda p: _google(p, True),
}


@pytest.mark.parametrize("kind", sorted(PLANTERS))
def test_a_planted_passage_and_a_planted_file_are_found(
    tmp_path: Path, index_path: Path, kind: str
) -> None:
    planted = PLANTERS[kind](tmp_path)
    records = scan(index_path, planted.target)
    found = {f.source: f for f in findings(records)}
    assert set(found) == {"ops/harbour plan.txt", "Budget memo.txt"}, records
    text = found["ops/harbour plan.txt"]
    line = brace_line(planted.text, planted.needle, planted.indent)
    assert text.suspect == f"{planted.chat}#L{line}" and text.kind == "excerpt"
    assert text.sender == planted.sender and text.sent_at == planted.sent_at
    assert text.app == planted.app and text.conversation == planted.conversation
    assert text.matched_tokens >= 30
    sent = found["Budget memo.txt"]
    assert sent.suspect == planted.attachment and sent.kind == "exact-copy"
    line = brace_line(planted.text, planted.attachment_needle, planted.indent)
    assert sent.sent_in == f"{planted.chat}#L{line}"
    assert sent.sender == planted.attachment_sender and sent.sent_at == z(6)
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.chat_messages >= 3 and summary.errors == 0


def test_urdu_pasted_into_a_facebook_message_is_found_through_the_mojibake(
    tmp_path: Path, index_path: Path
) -> None:
    pasted = words(URDU, 60, 40)
    thread = facebook_thread(MetaMessage(IMRAN, at(9), pasted))
    target = write_meta_archive(tmp_path / "fb", [thread], zipped=True)
    assert pasted.encode() not in target.read_bytes()
    (finding,) = findings(scan(index_path, target))
    assert finding.source == "urdu.txt" and finding.sender == IMRAN and finding.sent_at == z(9)


def test_tweets_posts_and_old_layout_photos(tmp_path: Path, index_path: Path) -> None:
    x = write_x_archive(
        tmp_path / "x",
        tweets=[Tweet("1766", at(1), "Lovely evening"), Tweet("1768", at(3), PASTED)],
        notes=[Tweet("1769", at(4), words(BUDGET, 100, 60))],
        zipped=True,
    )
    fb = write_meta_archive(
        tmp_path / "fb-old",
        posts=[MetaPost(at(8), "Weekend plans"), MetaPost(at(9), None, (("memo.docx", MEMO),))],
        layout="facebook-old",
        zipped=True,
    )
    found = {(f.suspect.split("#")[0], f.source): f for f in findings(scan(index_path, x, fb))}
    tweet = found[(f"{x}!data/tweets.js", "ops/harbour plan.txt")]
    assert tweet.sender is None and tweet.from_me and tweet.conversation == "tweets"
    assert tweet.sent_at == z(3) and tweet.app == "X"
    note = found[(f"{x}!data/note-tweet.js", "Budget memo.txt")]
    assert note.sent_at == z(4)
    photo = found[(f"{fb}!photos_and_videos/Mobile uploads_1/memo.docx", "Budget memo.txt")]
    assert photo.sent_in is not None and photo.sent_in.startswith(f"{fb}!posts/your_posts_1.json#L")
    assert photo.from_me and photo.sent_at == z(9) and photo.app == "Facebook"
    assert len(found) == 3


def test_innocent_archives_give_nothing(tmp_path: Path, index_path: Path) -> None:
    chatter = [
        MetaMessage(AYESHA if i % 2 else IMRAN, at(i), prose(300 + i, 40)) for i in range(20)
    ]
    fb = write_meta_archive(
        tmp_path / "fb",
        [MetaThread("t_1", "Friends", (AYESHA, IMRAN), tuple(chatter))],
        posts=[MetaPost(at(40), prose(400, 60), (("1.jpg", PNG),))],
        zipped=True,
    )
    x = write_x_archive(
        tmp_path / "x", tweets=[Tweet(str(i), at(i), prose(500 + i, 30)) for i in range(10)]
    )
    members = {AYESHA: "a@example.org"}
    google = write_google_chat(
        tmp_path / "g",
        "AAAAz",
        None,
        members,
        [ChatPost(AYESHA, "a@example.org", at(1), prose(600, 50))],
    )
    records = scan(index_path, fb, x, google)
    assert findings(records) == []
    summary = records[-1]
    assert isinstance(summary, Summary) and summary.chat_messages == 20 + 1 + 10 + 1
    assert summary.chat_messages_by_app == {"facebook": 21, "twitter": 10, "google-chat": 1}
    assert summary.errors == 0


def test_a_damaged_thread_keeps_its_findings_and_says_why(tmp_path: Path, index_path: Path) -> None:
    thread = facebook_thread(MetaMessage(IMRAN, at(5), PASTED))
    text = meta_thread_json("facebook", thread)
    cut = text.index("Are you coming")  # the oldest message (written last) is cut off
    folder = tmp_path / "fb" / "messages" / "inbox" / "x_1"
    folder.mkdir(parents=True)
    (folder / "message_1.json").write_text(text[:cut], encoding="utf-8")
    records = scan(index_path, tmp_path / "fb")
    (finding,) = findings(records)
    assert finding.sender == IMRAN and finding.conversation == f"{AYESHA}, {BILAL}, {IMRAN}"
    notes = [r for r in records if isinstance(r, NoteRecord)]
    errors = [r for r in records if not isinstance(r, Finding | NoteRecord | Summary)]
    assert any("Facebook JSON" in str(r) for r in notes + errors), records


def test_the_command_line_reports_social_findings(tmp_path: Path, index_path: Path) -> None:
    from click.testing import CliRunner

    from leakscan.cli import EXIT_FINDINGS, cli

    planted = _meta(tmp_path, "facebook", True)
    arguments = ["scan", str(planted.target), "--index", str(index_path), "--format", "jsonl"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == EXIT_FINDINGS, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    texts = [r for r in records if r["type"] == "finding" and r["source"] == "ops/harbour plan.txt"]
    (record,) = texts
    assert record["sender"] == IMRAN and record["sent_at"] == z(5) and record["app"] == "Facebook"
    assert record["suspect"].startswith(planted.chat + "#L")


def test_a_paste_split_over_messages_written_newest_first_is_found(
    tmp_path: Path, index_path: Path
) -> None:
    parts = [words(BUDGET, 100, 14), words(BUDGET, 114, 12), words(BUDGET, 126, 13)]
    pieces = (MetaMessage(BILAL, at(10 + i), part) for i, part in enumerate(parts))
    target = write_meta_archive(tmp_path / "fb", [facebook_thread(*pieces)], zipped=True)
    (finding,) = findings(scan(index_path, target))
    assert finding.source == "Budget memo.txt" and finding.sender == BILAL
    assert len(finding.messages) == 3  # one finding over the three messages
    assert finding.matched_tokens >= 30


def test_a_file_the_archive_names_but_lacks_leaves_an_attachment_name_finding(
    tmp_path: Path, index_path: Path
) -> None:
    thread = facebook_thread(
        MetaMessage(BILAL, at(12), None, (("files", "Budget memo.txt", None),))
    )
    target = write_meta_archive(tmp_path / "fb", [thread], zipped=True)
    (finding,) = findings(scan(index_path, target))
    assert finding.kind == "attachment-name" and finding.source == "Budget memo.txt"
    assert finding.attachment is not None and finding.attachment.endswith("/files/Budget memo.txt")
    assert finding.sender == BILAL and finding.sent_at == z(12) and finding.app == "Facebook"
