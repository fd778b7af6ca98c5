"""E-mail messages (.eml, Outlook .msg) read as containers: the readable text, and attachments.

A leaked document usually travels as an attachment, so a message is not one
item but several: :attr:`Mail.text` (the headers a person reads, then the body)
is scanned as the message itself, and each :class:`MailPart` is handed back to
the caller to detect and scan on its own (a forwarded message is one of them,
as raw bytes, so the caller recurses with the same limits it applies to archives).

Nothing that cannot be decoded is dropped in silence: it becomes a one-line
note in :attr:`Mail.problems`, which the caller records with the item. A
hostile message (parts nested hundreds deep, a header of a million encoded
words, a huge attachment) is read within fixed bounds, what lies beyond them
noted; only :class:`~leakscan.errors.ExtractionError` is ever raised.

This module is the public face of the family and only gathers names:
:mod:`.eml` reads .eml files (on the byte-level MIME structure in
:mod:`.mime`, which also holds :func:`looks_like_eml`), :mod:`.outlook_msg`
reads Outlook .msg files, and :mod:`.mail_parts` holds the types and text
helpers both share. Dependencies point one way: :mod:`.mail_parts` and
:mod:`.mime` import neither reader, the readers never import each other,
and only this module imports both. Mailboxes (mbox) are split into messages
by :mod:`.mbox`; the caller reads each with :func:`read_eml`.
"""

from __future__ import annotations

from .eml import read_eml
from .mail_parts import Mail, MailPart
from .mime import looks_like_eml
from .outlook_msg import read_msg

__all__ = ["Mail", "MailPart", "looks_like_eml", "read_eml", "read_msg"]
