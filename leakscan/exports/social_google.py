"""Google Chat from Google Takeout: ``Google Chat/Groups/<DM or Space id>/messages.json``.

The file is ``{"messages": [{"creator": {"name", "email", "user_type"},
"created_date": "Thursday, November 3, 2016 at 11:59:50 AM UTC", "text",
"topic_id", "message_id": "<group id>/<topic>/<message>", "attached_files":
[{"original_name", "export_name"}], "annotations": [...]}]}``. The files
sent lie beside it under their ``export_name``, where a ``?`` became ``_``
(``File-42?account_id=3.png`` is ``File-42_account_id=3.png`` on disk). The
space's name is in ``group_info.json`` beside it, which a stream of this
file cannot see: the conversation is the group id that starts every
``message_id`` (the folder is named after it, "Space <id>" or "DM <id>").
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any

from .chat import AttachmentRef, ChatFormatError, ChatStream, Message
from .social_json import SocialWalker, fail_on_extra, objects, open_text

__all__ = ["google_time", "read"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        "January February March April May June July August September October November "
        "December".split(),
        1,
    )
}
_DATE = re.compile(
    r"(?:[A-Za-z]+, )?([A-Za-z]+) (\d{1,2}), (\d{4}),? (?:at )?(\d{1,2}):(\d{2})(?::(\d{2}))? "
    r"?([AaPp][Mm])?(?: (UTC|GMT)([+-]\d{1,2}(?::?\d{2})?)?)?"
)


def read(chat: ChatStream, stream: IO[bytes], via: str) -> Iterator[Message]:
    """The messages of a Google Chat ``messages.json`` (a DM's or a space's: ``layout`` "group")."""
    text = open_text(stream, chat.notes)
    walker = SocialWalker(chat.notes, text, "Google Chat", via)
    chat.layout = "group"
    keys: set[str] = set()

    def member(key: str, at: int) -> Generator[Message, None, int]:
        if key == "messages" and text.char(at) == "[":
            return (yield from walker.array(at, walker.element(build)))
        return (yield from walker.skip_value(at))

    def build(obj: dict[str, Any], line: int, end_line: int) -> Message:
        creator = obj.get("creator")
        creator = creator if isinstance(creator, dict) else {}
        message_id = obj.get("message_id")
        group = message_id.split("/", 1)[0] if isinstance(message_id, str) else ""
        refs = []
        for item in objects(obj.get("attached_files")):
            name = walker.string(item.get("export_name"), item.get("original_name"))
            if name:
                refs.append(AttachmentRef(name.replace("?", "_"), included=True))
        return Message(
            line=line,
            end_line=end_line,
            sender=walker.string(creator.get("name"), creator.get("email")),
            sent_at=google_time(obj.get("created_date")),
            text=walker.message_text(obj.get("text"), line),
            text_start=-1,
            attachments=tuple(refs),
            conversation=group[:200] or None,
            via=walker.via,
        )

    pos = text.space(0)
    if text.char(pos) != "{":
        walker.fail(pos, "a Google Chat messages.json is a JSON object")
    try:
        end = yield from walker.members(pos, member, keys)
        if "messages" not in keys:
            raise ChatFormatError("not a Google Chat messages.json: it has no messages")
        fail_on_extra(walker, end)
    finally:
        walker.finish()


def google_time(value: object) -> str:
    """Takeout's "Thursday, November 3, 2016 at 11:59:50 AM UTC" as ISO 8601 ("Z" for UTC).

    A time in another zone than UTC or GMT is kept local (no zone); one that
    cannot be read is kept as written (cut short).

    >>> google_time("Thursday, November 3, 2016 at 11:59:50\\u202fPM UTC")
    '2016-11-03T23:59:50Z'
    >>> google_time("Friday, March 8, 2024 at 9:05:00 AM UTC+05:00")
    '2024-03-08T04:05:00Z'
    """
    if not isinstance(value, str):
        return ""
    spaced = " ".join(value.replace("\u202f", " ").replace("\xa0", " ").split())
    found = _DATE.fullmatch(spaced)
    if found is None or found[1] not in _MONTHS:
        return value[:64]
    month, day, year, hour, minute, second, half, zone, offset = found.groups()
    hours = int(hour)
    if half:
        if not 1 <= hours <= 12:
            return value[:64]
        hours = hours % 12 + (12 if half.lower() == "pm" else 0)
    try:
        when = datetime(int(year), _MONTHS[month], int(day), hours, int(minute), int(second or 0))
    except ValueError:
        return value[:64]
    if not zone:
        return when.isoformat()
    shift = _offset(offset) if offset else timedelta(0)
    if shift is None:
        return value[:64]
    try:
        utc = when.replace(tzinfo=timezone(shift)).astimezone(UTC)
    except (OverflowError, ValueError):
        return value[:64]
    return utc.replace(tzinfo=None).isoformat() + "Z"


def _offset(text: str) -> timedelta | None:
    """ "+5", "-03:30", "+0530" as a time zone's offset (None beyond a day)."""
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    shift = timedelta(hours=int(hours), minutes=int(minutes)) * sign
    return shift if abs(shift) < timedelta(hours=24) else None
