"""Social-media "download your data" archives, written as the services write them.

Layouts and field names follow the real archives (see leakscan/exports/social_*.py
for what each holds); the people and messages are fictional and come from the
tests. Each writer lays the archive out in a folder, or in a ZIP when
``zipped`` (the folder's contents under the ZIP's root, or under ``Takeout/``
for Google). Attachments are written where the archive keeps them.

Meta writes every UTF-8 byte of a string as its own ``\\u00XX`` escape
(:func:`mojibake`); X and Google write plain UTF-8.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Where each Meta layout keeps its activity (folder prefix of every path and ``uri``).
META_PREFIX = {
    "facebook": "your_facebook_activity/",
    "facebook-2022": "your_activity_across_facebook/",
    "facebook-old": "",
    "instagram": "your_instagram_activity/",
}


def mojibake(text: str) -> str:
    """Text as Meta writes it: each UTF-8 byte a character of its own."""
    return text.encode("utf-8").decode("latin-1")


def _ms(when: datetime) -> int:
    return int(when.replace(tzinfo=UTC).timestamp() * 1000)


def _zip(folder: Path, target: Path, top: str = "") -> Path:
    """The folder's files in a ZIP at target (under ``top`` inside it); the folder goes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, top + path.relative_to(folder).as_posix())
    shutil.rmtree(folder)
    return target


def _write(root: Path, relative: str, data: bytes | str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _finish(root: Path, zipped: bool, top: str = "") -> Path:
    if not zipped:
        return root
    staging = root.with_name(root.name + ".staging")
    root.rename(staging)
    return _zip(staging, root.with_name(root.name + ".zip"), top)


# ---------------------------------------------------------------------------
# Meta: Facebook and Instagram "Download your information", Messenger's encrypted chats
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaMessage:
    """One message; ``files`` are (kind, file name, bytes): kind "photos", "videos", "files"…
    (bytes None: the archive names the file but lacks it)."""

    sender: str
    sent_at: datetime
    text: str | None = None
    files: tuple[tuple[str, str, bytes | None], ...] = ()
    unsent: bool = False
    kind: str = "Generic"


@dataclass(frozen=True)
class MetaThread:
    folder: str  # e.g. "ayeshakhan_10158362"
    title: str
    participants: tuple[str, ...]
    messages: tuple[MetaMessage, ...]  # oldest first: written newest first, as Meta does


@dataclass(frozen=True)
class MetaPost:
    sent_at: datetime
    text: str | None = None
    photos: tuple[tuple[str, bytes], ...] = ()
    title: str = "Ayesha Khan updated her status."


def meta_thread_json(layout: str, thread: MetaThread) -> str:
    """A thread's ``message_1.json`` as Meta writes it (indent 2, ``\\u00XX`` escapes)."""
    prefix = META_PREFIX[layout]
    base = f"{prefix}messages/inbox/{thread.folder}"
    messages = []
    for message in reversed(thread.messages):
        entry: dict[str, Any] = {
            "sender_name": mojibake(message.sender),
            "timestamp_ms": _ms(message.sent_at),
        }
        if message.text is not None:
            entry["content"] = mojibake(message.text)
        for kind, name, _ in message.files:
            item = {"uri": mojibake(f"{base}/{kind}/{name}"), "creation_timestamp": 1}
            entry.setdefault(kind, []).append(item)
        if message.kind != "Generic":
            entry["type"] = message.kind
        entry["is_unsent"] = message.unsent
        entry["is_geoblocked_for_viewer"] = False
        messages.append(entry)
    document = {
        "participants": [{"name": mojibake(name)} for name in thread.participants],
        "messages": messages,
        "title": mojibake(thread.title),
        "is_still_participant": True,
        "thread_path": f"inbox/{thread.folder}",
        "magic_words": [],
        "joinable_mode": {"mode": 1, "link": ""},
    }
    return json.dumps(document, indent=2)


def write_meta_archive(
    root: Path,
    threads: Sequence[MetaThread] = (),
    posts: Sequence[MetaPost] = (),
    layout: str = "facebook",
    zipped: bool = False,
) -> Path:
    """A Facebook or Instagram archive at root (a folder, or ``root.zip``)."""
    prefix = META_PREFIX[layout]
    _write(root, "index.html", "<html><body>Your information</body></html>")
    for thread in threads:
        base = f"{prefix}messages/inbox/{thread.folder}"
        _write(root, f"{base}/message_1.json", meta_thread_json(layout, thread))
        for message in thread.messages:
            for kind, name, data in message.files:
                if data is not None:
                    _write(root, f"{base}/{kind}/{name}", data)
    if posts and layout == "instagram":
        _write(root, f"{prefix}content/posts_1.json", _instagram_posts(posts, root))
    elif posts:
        name = (
            "your_posts_1.json"
            if layout == "facebook-old"
            else ("your_posts__check_ins__photos_and_videos_1.json")
        )
        _write(root, f"{prefix}posts/{name}", _facebook_posts(posts, prefix, root))
    return _finish(root, zipped)


def _facebook_posts(posts: Sequence[MetaPost], prefix: str, root: Path) -> str:
    entries = []
    for post in posts:
        stamp = int(post.sent_at.replace(tzinfo=UTC).timestamp())
        entry: dict[str, Any] = {"timestamp": stamp}
        if post.photos:
            data = []
            for name, content in post.photos:
                # Old archives keep a post's photos under photos_and_videos/ at the root.
                where = (
                    f"{prefix}posts/media/Mobile uploads_1/{name}"
                    if prefix
                    else (f"photos_and_videos/Mobile uploads_1/{name}")
                )
                _write(root, where, content)
                media = {"uri": mojibake(where), "creation_timestamp": stamp, "title": ""}
                data.append({"media": media})
            entry["attachments"] = [{"data": data}]
        if post.text is not None:
            entry["data"] = [{"post": mojibake(post.text)}, {"update_timestamp": stamp}]
        entry["title"] = mojibake(post.title)
        entries.append(entry)
    return json.dumps(entries, indent=2)


def _instagram_posts(posts: Sequence[MetaPost], root: Path) -> str:
    entries = []
    for post in posts:
        stamp = int(post.sent_at.replace(tzinfo=UTC).timestamp())
        media = []
        for name, content in post.photos:
            where = f"media/posts/{post.sent_at:%Y%m}/{name}"
            _write(root, where, content)
            media.append({"uri": where, "creation_timestamp": stamp, "title": ""})
        entry: dict[str, Any] = {"media": media, "title": mojibake(post.text or "")}
        entry["creation_timestamp"] = stamp
        entries.append(entry)
    return json.dumps(entries, indent=2)


def write_messenger_e2ee(
    root: Path, name: str, participants: Sequence[str], messages: Sequence[MetaMessage]
) -> Path:
    """Messenger's export of end-to-end encrypted chats: ``<Name>_<n>.json`` and ``media/``."""
    entries = []
    for number, message in enumerate(reversed(messages)):
        media = []
        for _, file_name, data in message.files:
            stored = f"{number:08x}-5a1c-4f1e-9d6b-{file_name}"
            if data is not None:
                _write(root, f"media/{stored}", data)
            media.append({"uri": f"./media/{stored}"})
        entries.append(
            {
                "isUnsent": message.unsent,
                "media": media,
                "reactions": [],
                "senderName": message.sender,
                "text": message.text or "",
                "timestamp": _ms(message.sent_at),
                "type": "media" if media else "text",
            }
        )
    document = {"participants": list(participants), "threadName": name, "messages": entries}
    _write(root, f"{name}.json", json.dumps(document, indent=2, ensure_ascii=False))
    return root / f"{name}.json"


# ---------------------------------------------------------------------------
# X (Twitter) archive
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tweet:
    tweet_id: str
    sent_at: datetime
    text: str
    photos: tuple[tuple[str, bytes], ...] = ()  # (media file name, bytes)


@dataclass(frozen=True)
class DirectMessage:
    message_id: str
    sender_id: str
    recipient_id: str | None  # None in a group
    sent_at: datetime
    text: str
    media: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    messages: tuple[DirectMessage, ...]
    group: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


def _ytd(name: str, items: list[Any]) -> str:
    """A data file as the archive writes it: ``window.YTD.<name>.part0 = [ ... ]``."""
    body = json.dumps(items, indent=2, ensure_ascii=False, separators=(",", " : "))
    return f"window.YTD.{name}.part0 = {body}"


def x_created_at(when: datetime) -> str:
    return when.strftime("%a %b %d %H:%M:%S +0000 %Y")


def x_iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write_x_archive(
    root: Path,
    tweets: Sequence[Tweet] = (),
    notes: Sequence[Tweet] = (),
    conversations: Sequence[Conversation] = (),
    zipped: bool = False,
) -> Path:
    """An X archive: ``Your archive.html`` and ``data/*.js`` with media folders beside."""
    _write(root, "Your archive.html", "<html><body>Your archive</body></html>")
    _write(root, "data/account.js", _ytd("account", [{"account": {"accountId": "7001"}}]))
    entries = []
    for tweet in tweets:
        media = []
        for name, data in tweet.photos:
            _write(root, f"data/tweets_media/{tweet.tweet_id}-{name}", data)
            url = f"https://pbs.twimg.com/media/{name}"
            media.append({"media_url": url, "media_url_https": url, "type": "photo"})
        body: dict[str, Any] = {
            "retweeted": False,
            "id_str": tweet.tweet_id,
            "created_at": x_created_at(tweet.sent_at),
            "full_text": tweet.text.replace("&", "&amp;").replace("<", "&lt;"),
            "lang": "en",
        }
        if media:
            body["entities"] = {"media": media[:1]}
            body["extended_entities"] = {"media": media}
        entries.append({"tweet": body})
    _write(root, "data/tweets.js", _ytd("tweets", entries))
    notes_json = [
        {
            "noteTweet": {
                "noteTweetId": note.tweet_id,
                "updatedAt": x_iso(note.sent_at),
                "lifecycle": {"value": "1"},
                "createdAt": x_iso(note.sent_at),
                "core": {"styletags": [], "urls": [], "text": note.text, "mentions": []},
            }
        }
        for note in notes
    ]
    _write(root, "data/note-tweet.js", _ytd("note_tweet", notes_json))
    for group in (False, True):
        name = "direct_messages_group" if group else "direct_messages"
        found = [c for c in conversations if c.group == group]
        dms = [{"dmConversation": _dm_conversation(root, c, name)} for c in found]
        _write(root, f"data/{name.replace('_', '-')}.js", _ytd(name, dms))
    return _finish(root, zipped)


def _dm_conversation(root: Path, conversation: Conversation, name: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = list(conversation.events)
    for dm in reversed(conversation.messages):
        urls = []
        for file_name, data in dm.media:
            _write(root, f"data/{name}_media/{dm.message_id}-{file_name}", data)
            urls.append(f"https://ton.twitter.com/1.1/ton/data/dm/{dm.message_id}/9/{file_name}")
        create: dict[str, Any] = {"reactions": [], "urls": [], "text": dm.text}
        if dm.recipient_id is not None:
            create["recipientId"] = dm.recipient_id
        create |= {"mediaUrls": urls, "senderId": dm.sender_id, "id": dm.message_id}
        create["createdAt"] = x_iso(dm.sent_at)
        messages.append({"messageCreate": create})
    return {"conversationId": conversation.conversation_id, "messages": messages}


# ---------------------------------------------------------------------------
# Google Chat (Takeout)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatPost:
    name: str
    email: str
    sent_at: datetime
    text: str | None = None
    files: tuple[tuple[str, bytes], ...] = ()  # (original name, bytes)


def google_created_date(when: datetime) -> str:
    """Takeout's time, with the narrow no-break space newer exports put before AM/PM."""
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    return f"{when:%A}, {when:%B} {when.day}, {when.year} at {hour}:{when:%M:%S}\u202f{half} UTC"


def write_google_chat(
    root: Path,
    group_id: str,
    space_name: str | None,
    members: Mapping[str, str],
    posts: Sequence[ChatPost],
    zipped: bool = False,
) -> Path:
    """A Takeout with Google Chat: ``Google Chat/Groups/<Space|DM> <id>/messages.json`` and
    ``group_info.json``, the files sent beside them, ``Users/User <n>/user_info.json``."""
    folder = f"Google Chat/Groups/{'Space' if space_name else 'DM'} {group_id}"
    people = [{"name": n, "email": e, "user_type": "Human"} for n, e in members.items()]
    info: dict[str, Any] = {"name": space_name, "members": people} if space_name else {}
    info.setdefault("members", people)
    _write(root, f"{folder}/group_info.json", _google_dump(info))
    entries = []
    for number, post in enumerate(posts):
        entry: dict[str, Any] = {
            "creator": {"name": post.name, "email": post.email, "user_type": "Human"},
            "created_date": google_created_date(post.sent_at),
        }
        if post.text is not None:
            entry["text"] = post.text
        if post.files:
            entry["attached_files"] = []
            for original, data in post.files:
                # On disk a "?" of the name is "_" (the JSON keeps the "?").
                _write(root, f"{folder}/File-{original}".replace("?", "_"), data)
                entry["attached_files"].append(
                    {"original_name": original, "export_name": f"File-{original}"}
                )
        entry["topic_id"] = f"tq{number:09d}"
        entry["message_id"] = f"{group_id}/tq{number:09d}/tq{number:09d}"
        entries.append(entry)
    _write(root, f"{folder}/messages.json", _google_dump({"messages": entries}))
    user = {"user": people[0], "membership_info": [{"group_id": folder.rsplit("/", 1)[1]}]}
    _write(root, "Google Chat/Users/User 104729/user_info.json", _google_dump(user))
    return _finish(root, zipped, "Takeout/")


def _google_dump(value: object) -> str:
    # Takeout's JSON escapes "=" (as Java's JSON writers do); no "=" is structural in JSON.
    return json.dumps(value, indent=2, ensure_ascii=False).replace("=", "\\u003d")
