"""Social-media "download your data" archives read as chat streams.

Which file of an archive holds messages, and which app wrote it, is told
from its name and first bytes (:func:`looks_like_export`); the readers
then stream its messages in bounded memory (:func:`iter_messages`), one
module per family:

- "facebook", "instagram": Meta's "Download your information" threads
  (``messages/inbox/<thread>/message_1.json``) and posts, in
  :mod:`.social_meta`;
- "messenger": Messenger's export of end-to-end encrypted chats, in
  :mod:`.social_meta` too;
- "twitter": the X archive's ``data/tweets.js``, ``note-tweet.js``,
  ``direct-messages.js`` and ``direct-messages-group.js``, in :mod:`.social_x`;
- "google-chat": Takeout's ``Google Chat/Groups/<id>/messages.json``, in
  :mod:`.social_google`.

Posts and tweets are messages like the others: the account's, in the
conversation "posts" or "tweets". A message is located by the line its
object starts on (``message_1.json#L42``): every format has one, it can be
checked in the file as it is, and the ids some formats have (a tweet's, a
direct message's) are no better a place in the file. Files sent are named
as the archive writes them: Meta's ``uri`` is the path from the archive's
root; the X archive's names are built as it stores them (beside the data
file); Google Chat's lie beside the chat.

    >>> looks_like_export(b'window.YTD.tweets.part0 = [ {', "data/tweets.js")
    'twitter'
    >>> looks_like_export(b'{"participants": [{"name": "A"}], "messages": [{"sender_name": "A"',
    ...                   "message_1.json")
    'facebook'
    >>> looks_like_export(b'{"name": "Project Team", "members": []}', "group_info.json") is None
    True
"""

from __future__ import annotations

import re
from typing import IO

from . import social_google, social_meta, social_x
from .chat import ChatFormatError, ChatStream

__all__ = ["APPS", "iter_messages", "looks_like_export"]

#: The apps read here, and their names as findings show them.
APPS = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "messenger": "Messenger",
    "twitter": "X",
    "google-chat": "Google Chat",
}

_YTD = re.compile(r"window\.YTD\.([A-Za-z0-9_]{1,64})\.part[0-9]{1,6}\s*=\s*\[")
_X_FILES = social_x.TWEET_FILES | {"note_tweet", "direct_messages", "direct_messages_group"}


def _key(name: str, value: str = "") -> re.Pattern[str]:
    """A JSON key (followed by the start of its value, if given)."""
    return re.compile(rf'"{name}"\s*:\s*{value}')


_PARTICIPANTS = _key("participants", r"\[")
_META_THREAD = (_key("sender_name"), _key("timestamp_ms"), _key("thread_path"))
_E2EE_THREAD = (_key("senderName"), _key("threadName"), _key("isUnsent"))
_FACEBOOK_POST = (
    _key("timestamp", r"-?\d"),
    re.compile(r'"data"\s*:\s*\[\s*\{\s*"(?:post|update_timestamp)"|"attachments"\s*:\s*\['),
)
_INSTAGRAM_POST = (
    re.compile(r'^\[\s*\{\s*"media"\s*:\s*\[\s*\{\s*"uri"\s*:'),
    _key("creation_timestamp", r"-?\d"),
)
_GOOGLE_CHAT = (
    re.compile(r'^\{\s*"messages"\s*:\s*\['),
    _key("creator", r"\{"),
    _key("created_date", '"'),
)
# What only Instagram's threads and posts hold.
_INSTAGRAM = re.compile(r'your_instagram_activity/|"original_content_owner"\s*:')
_POSTS_NAME = re.compile(r"(?:^|_)posts(?:_|\.json$)")


def looks_like_export(head: bytes, name: str) -> str | None:
    """The app whose archive file this may be, from its name and first bytes; None if none.

    ``name`` may be a bare file name or a path (an archive member's); a
    path under ``your_instagram_activity/`` tells Instagram from Facebook,
    whose threads and posts are written alike.
    """
    path = name.replace("\\", "/")
    base = path.rsplit("/", 1)[-1].lower()
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if base.endswith(".js"):
        found = _YTD.match(text)
        return "twitter" if found and found[1] in _X_FILES else None
    if not base.endswith(".json"):
        return None
    if text.startswith("{"):
        if all(p.search(text) for p in _GOOGLE_CHAT):
            return "google-chat"
        if not _PARTICIPANTS.search(text):
            return None
        if any(p.search(text) for p in _E2EE_THREAD):
            return "messenger"
        if any(p.search(text) for p in _META_THREAD):
            return _meta_app(text, path)
        return None
    if text.startswith("[") and _POSTS_NAME.search(base):
        if all(p.search(text) for p in _INSTAGRAM_POST):
            return "instagram"
        if all(p.search(text) for p in _FACEBOOK_POST):
            return _meta_app(text, path)
    return None


def _meta_app(text: str, path: str) -> str:
    return "instagram" if _INSTAGRAM.search(path) or _INSTAGRAM.search(text) else "facebook"


def iter_messages(app: str, stream: IO[bytes]) -> ChatStream:
    """Messages of one archive file of ``app`` (see :data:`APPS`), read from a binary stream.

    ``line``/``end_line`` are the lines of a message object's braces;
    ``sent_at`` is UTC with "Z"; ``text`` is assembled from the JSON
    (``text_start`` -1), Meta's mojibake repaired; ``via`` is the app's
    name. An element that is no message (wrong shape, too large, nested too
    deeply) is skipped and noted; invalid or truncated JSON, or a file of
    another shape, raises ChatFormatError from ``next()`` after the messages
    before the damage. A Meta thread's stream is read twice (its title comes
    after its messages): one that cannot seek is copied to a temporary file.
    """
    via = APPS.get(app)
    if via is None:
        raise ChatFormatError(f"not a social archive leakscan reads: {app!r}")
    if app == "twitter":
        return ChatStream(app, lambda chat: social_x.read(chat, stream, via))
    if app == "google-chat":
        return ChatStream(app, lambda chat: social_google.read(chat, stream, via))
    return ChatStream(app, lambda chat: social_meta.read(chat, stream, via))
