"""The X (Twitter) archive: tweets, long "note" tweets and direct messages, from its ``data/*.js``.

Each data file is a script assigning one JSON array:
``window.YTD.<name>.part<N> = [ ... ]``. The arrays read here:

- ``tweets`` (older archives: ``tweet``; also ``deleted_tweets``): elements
  ``{"tweet": {...}}`` (the oldest archives: the tweet itself) with
  ``id_str``, ``created_at`` ("Wed Oct 10 20:19:24 +0000 2018"),
  ``full_text`` (``&``, ``<``, ``>`` escaped as HTML) and media in
  ``extended_entities.media``; the archive keeps a tweet's files as
  ``data/<name>_media/<tweet id>-<file name of the media URL>``.
- ``note_tweet``: ``{"noteTweet": {"noteTweetId", "createdAt", "core": {"text"}}}``,
  the full text of tweets longer than 280 characters.
- ``direct_messages`` and ``direct_messages_group``: ``{"dmConversation":
  {"conversationId", "messages": [{"messageCreate": {"id", "senderId",
  "recipientId", "text", "createdAt", "mediaUrls"}}, ...]}}`` (a group's
  messages also hold join, leave and rename events, which are no messages);
  the files are ``data/direct_messages_media/<message id>-<file name of the
  media URL>`` (``direct_messages_group_media`` for groups).

A tweet's sender is the account, which the file does not name: ``sender`` is
None and ``from_me`` True. A direct message's sender is the user id the
archive gives (the names are in no file of it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Generator, Iterator
from datetime import datetime, timedelta
from typing import IO, Any

from .chat import AttachmentRef, ChatFormatError, ChatStream, Message
from .social_json import (
    Build,
    SocialWalker,
    fail_on_extra,
    objects,
    open_text,
    utc_from_iso,
)

__all__ = ["TWEET_FILES", "read"]

#: Arrays of tweets, by the name their file assigns (the media folder is ``<name>_media``).
TWEET_FILES = frozenset({"tweets", "tweet", "deleted_tweets"})
_DM_FILES = frozenset({"direct_messages", "direct_messages_group"})
_PREFIX = re.compile(r"window\.YTD\.([A-Za-z0-9_]{1,64})\.part[0-9]{1,6}[ \t\r\n]*=[ \t\r\n]*")
# The prefix is looked for in this many first characters.
_PREFIX_CHARS = 512
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CREATED_AT = re.compile(
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})"
)


def read(chat: ChatStream, stream: IO[bytes], via: str) -> Iterator[Message]:
    """The messages of one X archive data file; ``layout`` is the name it assigns ("tweets")."""
    text = open_text(stream, chat.notes)
    walker = SocialWalker(chat.notes, text, "X archive", via)
    pos = text.space(0)
    text.more(_PREFIX_CHARS)
    found = _PREFIX.match(text.text, pos - text.base)
    if found is None:
        raise ChatFormatError("not an X archive data file: it does not start with window.YTD.")
    name = found[1]
    chat.layout = name
    pos = text.base + found.end()
    try:
        if name in TWEET_FILES:
            end = yield from walker.array(pos, walker.element(_tweets(walker, f"{name}_media")))
        elif name == "note_tweet":
            end = yield from walker.array(pos, walker.element(_note(walker)))
        elif name in _DM_FILES:
            end = yield from walker.items(pos, _Conversations(walker, f"{name}_media").walk)
        else:
            raise ChatFormatError(f"an X archive file without messages (window.YTD.{name})")
        fail_on_extra(walker, end, ";")
    finally:
        walker.finish()


def x_time(value: object) -> str:
    """A tweet's ``created_at`` ("Wed Oct 10 20:19:24 +0000 2018") in UTC with "Z".

    >>> x_time("Wed Oct 10 20:19:24 +0530 2018")
    '2018-10-10T14:49:24Z'
    """
    if not isinstance(value, str):
        return ""
    found = _CREATED_AT.fullmatch(value.strip())
    if found is None or found[1] not in _MONTHS:
        return utc_from_iso(value)
    month, day, hour, minute, second, sign, oh, om, year = found.groups()
    offset = (int(oh) * 60 + int(om)) * (-1 if sign == "-" else 1)
    try:
        when = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
        if offset:
            when -= timedelta(minutes=offset)
    except (OverflowError, ValueError):
        return value[:64]
    return when.isoformat() + "Z"


def _file_name(url: object) -> str | None:
    """The last part of a media URL's path, without its query."""
    if not isinstance(url, str):
        return None
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _tweets(walker: SocialWalker, folder: str) -> Build:
    def build(obj: dict[str, Any], line: int, end_line: int) -> Message | None:
        tweet = obj.get("tweet", obj)
        if not isinstance(tweet, dict):
            walker.skipped("a tweet that is not an object", line)
            return None
        body = tweet.get("full_text", tweet.get("text"))
        tweet_id = tweet.get("id_str", tweet.get("id"))
        refs: list[AttachmentRef] = []
        if isinstance(tweet_id, str):
            entities = tweet.get("extended_entities")
            if not isinstance(entities, dict) or "media" not in entities:
                entities = tweet.get("entities")
            media = entities.get("media") if isinstance(entities, dict) else None
            for item in objects(media):
                name = _file_name(_best_url(item))
                if name and f"{folder}/{tweet_id}-{name}" not in {r.name for r in refs}:
                    refs.append(AttachmentRef(f"{folder}/{tweet_id}-{name}", included=True))
        text = walker.message_text(body, line)
        return Message(
            line=line,
            end_line=end_line,
            sender=None,
            sent_at=x_time(tweet.get("created_at")),
            text=html.unescape(text) if "&" in text else text,
            text_start=-1,
            attachments=tuple(refs),
            conversation="tweets",
            from_me=True,
            via=walker.via,
        )

    return build


def _best_url(media: dict[str, Any]) -> object:
    """A tweet's file as the archive keeps it: a video's largest MP4, else the picture."""
    info = media.get("video_info")
    variants = list(objects(info.get("variants"))) if isinstance(info, dict) else []
    best: tuple[float, object] | None = None
    for variant in variants:
        rate = _rate(variant.get("bitrate"))
        if variant.get("content_type") == "video/mp4" and (best is None or rate > best[0]):
            best = (rate, variant.get("url"))
    if best is not None:
        return best[1]
    return media.get("media_url_https", media.get("media_url"))


def _rate(value: object) -> float:
    """A video's bitrate (the archive writes it as a string); 0 when it is none."""
    if not isinstance(value, str | int | float):
        return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def _note(walker: SocialWalker) -> Build:
    def build(obj: dict[str, Any], line: int, end_line: int) -> Message | None:
        note = obj.get("noteTweet")
        if not isinstance(note, dict):
            walker.skipped("an element without a noteTweet", line)
            return None
        core = note.get("core")
        body = core.get("text") if isinstance(core, dict) else None
        return Message(
            line=line,
            end_line=end_line,
            sender=None,
            sent_at=utc_from_iso(note.get("createdAt")),
            text=walker.message_text(body, line),
            text_start=-1,
            conversation="tweets",
            from_me=True,
            via=walker.via,
        )

    return build


class _Conversations:
    """Walks ``[{"dmConversation": {"conversationId", "messages": [...]}}, ...]``."""

    def __init__(self, walker: SocialWalker, folder: str) -> None:
        self.walker = walker
        self.folder = folder
        self.conversation: str | None = None

    def walk(self, pos: int) -> Generator[Message, None, int]:
        walker = self.walker

        def member(key: str, at: int) -> Generator[Message, None, int]:
            if key == "dmConversation" and walker.text.char(at) == "{":
                self.conversation = None
                return (yield from walker.members(at, self.inner))
            return (yield from walker.skip_value(at))

        if walker.text.char(pos) != "{":
            return (yield from walker.skip_value(pos))
        return (yield from walker.members(pos, member))

    def inner(self, key: str, at: int) -> Generator[Message, None, int]:
        walker = self.walker
        if key == "conversationId":
            value, end = walker.small_value(at, "a conversation id")
            self.conversation = walker.string(value)
            return end
        if key == "messages" and walker.text.char(at) == "[":
            return (yield from walker.array(at, walker.element(self.message)))
        return (yield from walker.skip_value(at))

    def message(self, obj: dict[str, Any], line: int, end_line: int) -> Message | None:
        created = obj.get("messageCreate")
        if not isinstance(created, dict):
            return None  # a member joined or left, the group was renamed: no message
        walker = self.walker
        message_id = created.get("id")
        refs: list[AttachmentRef] = []
        urls = created.get("mediaUrls")
        for url in urls if isinstance(urls, list) else ():
            name = _file_name(url)
            if name and isinstance(message_id, str):
                refs.append(AttachmentRef(f"{self.folder}/{message_id}-{name}", included=True))
        sender = created.get("senderId")
        return Message(
            line=line,
            end_line=end_line,
            sender=sender if isinstance(sender, str) else None,
            sent_at=utc_from_iso(created.get("createdAt")),
            text=walker.message_text(created.get("text"), line),
            text_start=-1,
            attachments=tuple(refs),
            conversation=self.conversation,
            via=walker.via,
        )
