"""Chat exports, message by message: each message is a suspect of its own.

Consecutive messages of one sender are matched together, so a paragraph
pasted in pieces is still one passage; a finding is then reported on the
first message holding a matched passage (``<chat>#L<line>``, with its sender
and time) and lists every message its passages touch. A chat that kept only
the name of a dropped attachment is checked against the names of indexed
documents: an ``attachment-name`` finding, weaker than any text match.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import replace

from .exports.chat import ChatContext, Message
from .extract import Extracted
from .index import Index
from .records import Finding

__all__ = ["ATTACHMENT_NAME_SCORE", "message_runs", "scan_chat"]

#: Score of a dropped attachment whose name matches an indexed document:
#: a name is a lead, not evidence that the text left.
ATTACHMENT_NAME_SCORE = 0.3

#: Findings in one run of messages' joined text (offsets in that text).
FindText = Callable[[Extracted], list[Finding]]


def message_runs(messages: Iterable[Message]) -> list[list[Message]]:
    """Consecutive messages of one sender; a system line or another sender ends a run."""
    runs: list[list[Message]] = []
    for message in messages:
        if message.system or not message.text.strip():
            if runs and runs[-1]:
                runs.append([])
            continue
        if runs and runs[-1] and runs[-1][-1].sender == message.sender:
            runs[-1].append(message)
        else:
            runs.append([message])
    return [run for run in runs if run]


def _run_findings(chat_name: str, run: list[Message], find: FindText) -> list[Finding]:
    """Findings of one run, re-based on the first message they touch."""
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for message in run:
        starts.append(offset)
        parts.append(message.text)
        offset += len(message.text) + 1
    text = "\n".join(parts)
    results = []
    for finding in find(Extracted(text, "text/plain")):
        if not finding.passages:
            continue
        first = bisect.bisect_right(starts, min(p.suspect_start for p in finding.passages)) - 1
        last = bisect.bisect_right(starts, max(p.suspect_end for p in finding.passages) - 1) - 1
        base = starts[first]
        passages = tuple(
            replace(p, suspect_start=p.suspect_start - base, suspect_end=p.suspect_end - base)
            for p in finding.passages
        )
        head = run[first]
        touched = run[first : last + 1]
        results.append(
            replace(
                finding,
                suspect=f"{chat_name}#L{head.line}",
                sender=head.sender,
                sent_at=head.sent_at,
                passages=passages,
                messages=tuple(f"{chat_name}#L{m.line}" for m in touched)
                if len(touched) > 1
                else (),
            )
        )
    return results


def _attachment_findings(
    chat_name: str, context: ChatContext, index: Index, sha256: str, member_sha256: str | None
) -> list[Finding]:
    findings = []
    looked_up: dict[str, list[tuple[str, str]]] = {}
    for message in context.chat.messages:
        for ref in message.attachments:
            if not ref.name or ref.name not in context.missing:
                continue
            if ref.name not in looked_up:
                documents = index.documents_named(ref.name)
                contents = index.contents([d.content_id for d in documents])
                looked_up[ref.name] = [
                    (d.path, contents[d.content_id].sha256)
                    for d in documents
                    if d.content_id in contents and not contents[d.content_id].public
                ]
            for path, source_sha256 in looked_up[ref.name]:
                findings.append(
                    Finding(
                        suspect=f"{chat_name}#L{message.line}",
                        suspect_sha256=sha256,
                        source=path,
                        source_sha256=source_sha256,
                        kind="attachment-name",
                        score=ATTACHMENT_NAME_SCORE,
                        containment=0.0,
                        coverage=0.0,
                        simhash_distance=64,
                        matched_tokens=0,
                        sender=message.sender,
                        sent_at=message.sent_at,
                        member_sha256=member_sha256,
                        attachment=ref.name,
                        attachment_pages=ref.pages,
                    )
                )
    return findings


def scan_chat(
    chat_name: str,
    context: ChatContext,
    index: Index,
    sha256: str,
    member_sha256: str | None,
    find: FindText,
) -> list[Finding]:
    """Every finding in a chat: text runs first, then dropped attachments by name."""
    findings: list[Finding] = []
    for run in message_runs(context.chat.messages):
        findings.extend(_run_findings(chat_name, run, find))
    findings.extend(_attachment_findings(chat_name, context, index, sha256, member_sha256))
    return findings
