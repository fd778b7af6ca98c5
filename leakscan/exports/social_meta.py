"""Meta's "Download your information" archives: Facebook and Instagram threads and posts, and
Messenger's export of end-to-end encrypted chats.

A thread (``messages/inbox/<thread>/message_1.json``, under
``your_facebook_activity/`` or ``your_instagram_activity/`` in newer
archives) is ``{"participants": [{"name"}], "messages": [...], "title",
"thread_path", ...}``, newest message first; a message has
``sender_name``, ``timestamp_ms``, ``content``, files in ``photos``,
``videos``, ``audio_files``, ``gifs`` and ``files`` (each ``[{"uri"}]``,
the path from the archive's root), ``is_unsent``, and a ``type``
("Generic", "Share", "Call", "Subscribe", "Unsubscribe"). The Messenger
export of encrypted chats (one ``<Name>_<n>.json`` per thread, files under
``media/``) names the same things in camelCase: ``participants`` (names),
``threadName``, ``senderName``, ``timestamp`` (ms), ``text``, ``media``
(``[{"uri": "./media/<id>.jpeg"}]``), ``isUnsent``, ``type`` ("text",
"media", "link", "placeholder").

Posts are arrays: Facebook's ``your_posts_1.json`` (newer:
``your_posts__check_ins__photos_and_videos_1.json``) holds ``{"timestamp",
"data": [{"post"}], "attachments": [{"data": [{"media": {"uri",
"description"}}]}], "title"}`` (the title is Facebook's sentence about the
post, not the user's words), Instagram's ``content/posts_1.json`` holds
``{"media": [{"uri", "creation_timestamp", "title"}], "title",
"creation_timestamp"}``.

The title of a thread comes after its messages: a first pass steps over the
messages (without decoding them) to read it, and the second yields them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import IO, Any

from .chat import AttachmentRef, ChatFormatError, ChatStream, Message, rewindable
from .social_json import (
    SocialWalker,
    fail_on_extra,
    objects,
    open_text,
    repair,
    utc_from_epoch,
)

__all__ = ["read"]

# Where a Meta message keeps its files (snake_case archives, then the encrypted chats' export).
_FILE_KEYS = ("photos", "videos", "audio_files", "gifs", "files", "media")
# Messages the app writes itself: calls, members added or gone.
_SYSTEM_TYPES = frozenset({"Call", "Subscribe", "Unsubscribe"})
# A thread's name, and who is in it (for a thread without a name).
_HEADER_KEYS = frozenset({"title", "threadName", "participants"})
# Names a conversation shows of its participants when it has no title.
_MAX_NAMES = 8
# A conversation's name is cut after this many characters (it is carried on every message).
_MAX_NAME_CHARS = 200


def read(chat: ChatStream, stream: IO[bytes], via: str) -> Iterator[Message]:
    """The messages of a Meta thread or posts file (see the module); layout "thread" or "posts"."""
    source = rewindable(stream)
    try:
        origin = source.tell()
        conversation = _conversation(_header(source, via))
        source.seek(origin)
        walker = SocialWalker(chat.notes, open_text(source, chat.notes), via, via, mojibake=True)
        try:
            yield from _document(chat, walker, conversation)
        finally:
            walker.finish()
    finally:
        if source is not stream:
            source.close()


def _document(
    chat: ChatStream, walker: SocialWalker, conversation: str | None
) -> Iterator[Message]:
    text = walker.text
    pos = text.space(0)
    start = text.char(pos)

    def post(obj: dict[str, Any], line: int, end_line: int) -> Message:
        return _post(walker, obj, line, end_line)

    def message(obj: dict[str, Any], line: int, end_line: int) -> Message:
        return _message(walker, obj, line, end_line, conversation)

    def member(key: str, at: int) -> Generator[Message, None, int]:
        if key == "messages" and text.char(at) == "[":
            return (yield from walker.array(at, walker.element(message)))
        return (yield from walker.skip_value(at))

    if start == "[":
        chat.layout = "posts"
        end = yield from walker.array(pos, walker.element(post))
    elif start == "{":
        chat.layout = "thread"
        keys: set[str] = set()

        end = yield from walker.members(pos, member, keys)
        if "messages" not in keys:
            raise ChatFormatError(f"not a {walker.label} thread: it has no messages")
    else:
        walker.fail(pos, f"a {walker.label} archive file is a JSON object or array")
    fail_on_extra(walker, end)


def _header(source: IO[bytes], via: str) -> dict[str, Any]:
    """The thread's title and participants, read in a first pass that steps over the messages.

    Damage is left to the second pass to report (its notes are not kept).
    """
    walker = SocialWalker([], open_text(source, None), via, via)
    text = walker.text
    found: dict[str, Any] = {}
    pos = text.space(0)
    if text.char(pos) != "{":
        return found

    def member(key: str, at: int) -> Generator[Message, None, int]:
        if key in _HEADER_KEYS:
            found[key], end = walker.small_value(at, key)
            return end
        return walker.skip(at, "a value")
        yield  # a generator, like the walks that do yield messages

    try:
        for _ in walker.members(pos, member):
            pass
    except ChatFormatError:
        pass
    return found


def _conversation(header: dict[str, Any]) -> str | None:
    """A thread's name (repaired): its title, else its participants' names."""
    for key in ("title", "threadName"):
        title = header.get(key)
        if isinstance(title, str) and title.strip():
            return _name(title)
    participants = header.get("participants")
    names = [
        name
        for person in (participants if isinstance(participants, list) else ())
        for name in [person.get("name") if isinstance(person, dict) else person]
        if isinstance(name, str) and name.strip()
    ]
    if not names:
        return None
    shown = ", ".join(_name(name) for name in names[:_MAX_NAMES])
    more = len(names) - _MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _name(text: str) -> str:
    """A name repaired, cut after _MAX_NAME_CHARS characters (it goes on every message)."""
    return repair(text[: _MAX_NAME_CHARS * 4])[:_MAX_NAME_CHARS]


def _message(
    walker: SocialWalker, obj: dict[str, Any], line: int, end_line: int, conversation: str | None
) -> Message:
    sender = walker.string(obj.get("sender_name"), obj.get("senderName"))
    stamp = obj.get("timestamp_ms", obj.get("timestamp"))
    text = obj.get("content", obj.get("text"))
    kind = obj.get("type")
    unsent = obj.get("is_unsent") is True or obj.get("isUnsent") is True or kind == "placeholder"
    return Message(
        line=line,
        end_line=end_line,
        sender=sender,
        sent_at=utc_from_epoch(stamp, 1000),
        text=walker.message_text(text, line),
        text_start=-1,
        attachments=_files(walker, obj),
        system=kind in _SYSTEM_TYPES,
        conversation=conversation,
        deleted=unsent,
        via=walker.via,
    )


def _files(walker: SocialWalker, obj: dict[str, Any]) -> tuple[AttachmentRef, ...]:
    refs: list[AttachmentRef] = []
    for key in _FILE_KEYS:
        for item in objects(obj.get(key)):
            ref = walker.attachment(item.get("uri"))
            if ref is not None:
                refs.append(ref)
    return tuple(refs)


def _post(walker: SocialWalker, obj: dict[str, Any], line: int, end_line: int) -> Message:
    """A Facebook post (``data``/``attachments``) or an Instagram one (``media``)."""
    media = list(objects(obj.get("media")))
    refs: list[AttachmentRef] = []
    if media or "creation_timestamp" in obj:  # Instagram
        first = media[0] if media else {}
        caption = obj.get("title") or first.get("title")
        stamp = obj.get("creation_timestamp", first.get("creation_timestamp"))
        text = walker.message_text(caption, line)
        uris = [item.get("uri") for item in media]
    else:
        parts = [d.get("post") for d in objects(obj.get("data"))]
        items = [
            d["media"]
            for attachment in objects(obj.get("attachments"))
            for d in objects(attachment.get("data"))
            if isinstance(d.get("media"), dict)
        ]
        # A photo's own description is the user's words too.
        parts += [item.get("description") for item in items]
        text = walker.message_text("\n".join(p for p in parts if isinstance(p, str) and p), line)
        stamp = obj.get("timestamp")
        uris = [item.get("uri") for item in items]
    for uri in uris:
        ref = walker.attachment(uri)
        if ref is not None:
            refs.append(ref)
    return Message(
        line=line,
        end_line=end_line,
        sender=None,
        sent_at=utc_from_epoch(stamp, 1),
        text=text,
        text_start=-1,
        attachments=tuple(refs),
        conversation="posts",
        from_me=True,
        via=walker.via,
    )
