"""Chat exports, message by message: each message is a suspect of its own.

Consecutive messages of one sender are matched together, so a paragraph
pasted in pieces is still one passage; a finding is then reported on the
first message holding a matched passage (``<chat>#L<line>``, with its sender
and time) and lists every message its passages touch. A chat that kept only
the name of a dropped attachment is checked against the names of indexed
documents: an ``attachment-name`` finding, weaker than any text match.

The chat is read as a stream (:func:`~leakscan.exports.chat_apps.iter_chat`), and
a run of one sender is matched once it reaches :data:`RUN_MAX_CHARS` or
:data:`RUN_MAX_MESSAGES`, so memory stays bounded however long the chat. The
next run starts again with the last messages of that one (up to
:data:`RUN_OVERLAP_CHARS`), which hands them over: a passage starting there is
left to the next run, which sees it with what follows, so a paste cut at the
boundary is still found whole, and once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, NamedTuple

from .exports.chat import ChatContext, ChatFormatError, Message
from .exports.chat_apps import iter_chat
from .extract import Extracted
from .index import Index
from .records import Finding

__all__ = [
    "ATTACHMENT_NAME_SCORE",
    "MESSAGE_TEXT_CHARS",
    "RUN_MAX_CHARS",
    "RUN_MAX_MESSAGES",
    "RUN_OVERLAP_CHARS",
    "ChatScan",
    "Run",
    "message_runs",
    "scan_chat",
]

#: Score of a dropped attachment whose name matches an indexed document:
#: a name is a lead, not evidence that the text left.
ATTACHMENT_NAME_SCORE = 0.3

#: A run of one sender's messages is matched once it holds this many characters ...
RUN_MAX_CHARS = 256 << 10
#: ... or this many messages.
RUN_MAX_MESSAGES = 500
#: The next run starts with the last messages of the one before, up to this many characters.
RUN_OVERLAP_CHARS = 16 << 10
_RUN_OVERLAP_MESSAGES = 50

#: A finding keeps the whole text of its messages up to this many characters.
MESSAGE_TEXT_CHARS = 20_000

#: Findings in one run of messages' joined text (offsets in that text).
FindText = Callable[[Extracted], list[Finding]]


@dataclass
class ChatScan:
    """What scanning one chat gave.

    ``messages`` counts the messages checked (system notices aside).
    ``notes`` say how the reading was degraded without being given up (see
    :class:`~leakscan.exports.chat.ChatStream`); ``error`` says why the chat
    could not be read to its end (truncated JSON, say): the findings in the
    messages before that point stand.
    """

    findings: list[Finding] = field(default_factory=list)
    messages: int = 0
    #: The app whose messages they were (a database's is told once it is opened).
    app: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None


class Run(NamedTuple):
    """Consecutive messages of one sender; the last ``handed`` start the next run too."""

    messages: list[Message]
    handed: int = 0


class _Dropped(NamedTuple):
    """A message's trace of an attachment the export lacks (no text kept: there may be many)."""

    message: Message
    name: str
    pages: int | None


def message_runs(messages: Iterable[Message]) -> Iterator[Run]:
    """Consecutive messages of one sender in one conversation; a system line, another
    sender or another conversation ends a run.

    A run reaching RUN_MAX_CHARS or RUN_MAX_MESSAGES is cut there, and the
    next starts with its last messages (``handed``); every run holds at
    least one message of its own.
    """
    run: list[Message] = []
    chars = 0
    for message in messages:
        text = message.text
        if message.system or not text or text.isspace():
            if run:
                yield Run(run)
            run, chars = [], 0
            continue
        if run and (
            run[-1].sender != message.sender or run[-1].conversation != message.conversation
        ):
            yield Run(run)
            run, chars = [], 0
        elif run and (chars + len(text) + 1 > RUN_MAX_CHARS or len(run) >= RUN_MAX_MESSAGES):
            overlap = _overlap(run)
            if len(overlap) < len(run):  # else a long message joins a short run: no cut
                yield Run(run, len(overlap))
                run, chars = overlap, sum(len(m.text) + 1 for m in overlap)
        run.append(message)
        chars += len(text) + 1
    if run:
        yield Run(run)


def _overlap(run: list[Message]) -> list[Message]:
    """The last messages of a run, up to RUN_OVERLAP_CHARS: where the next run starts."""
    kept: list[Message] = []
    chars = 0
    for message in reversed(run):
        chars += len(message.text) + 1
        if chars > RUN_OVERLAP_CHARS or len(kept) == _RUN_OVERLAP_MESSAGES:
            break
        kept.append(message)
    kept.reverse()
    return kept


def _run_findings(chat_name: str, run: Run, find: FindText) -> list[Finding]:
    """Findings of one run, re-based on the first message they touch.

    Passages starting in the messages handed to the next run are left to it.
    """
    messages = run.messages
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for message in messages:
        starts.append(offset)
        parts.append(message.text)
        offset += len(message.text) + 1
    text = "\n".join(parts)
    handover = starts[len(messages) - run.handed] if run.handed else len(text) + 1
    results = []
    for finding in find(Extracted(text, "text/plain")):
        found = [p for p in finding.passages if p.suspect_start < handover]
        if not found:
            continue
        first = bisect.bisect_right(starts, min(p.suspect_start for p in found)) - 1
        last = bisect.bisect_right(starts, max(p.suspect_end for p in found) - 1) - 1
        base = starts[first]
        passages = tuple(
            replace(p, suspect_start=p.suspect_start - base, suspect_end=p.suspect_end - base)
            for p in found
        )
        head = messages[first]
        touched = messages[first : last + 1]
        results.append(
            replace(
                finding,
                suspect=head.locator(chat_name),
                sender=head.sender,
                sent_at=head.sent_at,
                conversation=head.conversation,
                from_me=head.from_me,
                deleted=head.deleted or None,
                app=head.via,
                passages=passages,
                message_text=_message_text(touched),
                messages=tuple(m.locator(chat_name) for m in touched) if len(touched) > 1 else (),
            )
        )
    return results


def _message_text(messages: list[Message]) -> str:
    """The text of the messages a finding touches, one per line, cut at MESSAGE_TEXT_CHARS."""
    text = "\n".join(m.text for m in messages)
    return text if len(text) <= MESSAGE_TEXT_CHARS else text[:MESSAGE_TEXT_CHARS] + "…"


def _attachment_findings(
    chat_name: str,
    dropped: list[_Dropped],
    index: Index,
    sha256: str,
    member_sha256: str | None,
) -> list[Finding]:
    findings = []
    looked_up: dict[str, list[tuple[str, str]]] = {}
    for trace in dropped:
        if trace.name not in looked_up:
            documents = index.documents_named(trace.name)
            contents = index.contents([d.content_id for d in documents])
            looked_up[trace.name] = [
                (d.path, contents[d.content_id].sha256)
                for d in documents
                if d.content_id in contents and not contents[d.content_id].public
            ]
        for path, source_sha256 in looked_up[trace.name]:
            findings.append(
                Finding(
                    suspect=trace.message.locator(chat_name),
                    suspect_sha256=sha256,
                    source=path,
                    source_sha256=source_sha256,
                    kind="attachment-name",
                    score=ATTACHMENT_NAME_SCORE,
                    containment=0.0,
                    coverage=0.0,
                    simhash_distance=64,
                    matched_tokens=0,
                    sender=trace.message.sender,
                    sent_at=trace.message.sent_at,
                    conversation=trace.message.conversation,
                    from_me=trace.message.from_me,
                    app=trace.message.via,
                    member_sha256=member_sha256,
                    attachment=trace.name,
                    attachment_pages=trace.pages,
                )
            )
    return findings


def scan_chat(
    chat_name: str,
    context: ChatContext,
    stream: IO[bytes],
    index: Index,
    sha256: str,
    member_sha256: str | None,
    find: FindText,
) -> ChatScan:
    """Every finding in the chat read from ``stream``: text runs first, then dropped
    attachments by name. Never raises ChatFormatError: see ``ChatScan.error``."""
    result = ChatScan()
    dropped: list[_Dropped] = []

    def checked() -> Iterator[Message]:
        """The messages, counted, their traces of missing attachments kept; damage ends them."""
        messages = None
        try:
            messages = iter_chat(context.app, stream, context)
            for message in messages:
                result.messages += not message.system
                for ref in message.attachments:
                    if ref.name and ref.name in context.missing:
                        dropped.append(_Dropped(replace(message, text=""), ref.name, ref.pages))
                yield message
        except ChatFormatError as exc:
            result.error = str(exc)
        finally:
            if messages is not None:
                result.notes = list(messages.notes)
                result.app = messages.app

    for run in message_runs(checked()):
        result.findings.extend(_run_findings(chat_name, run, find))
    result.findings.extend(_attachment_findings(chat_name, dropped, index, sha256, member_sha256))
    return result
