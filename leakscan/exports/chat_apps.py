"""Which app's parser reads a chat file: the one dispatch from an app name to its stream reader.

Kept apart from :mod:`.chat` (the types every parser imports), so that the
parsers import the types and this module imports the parsers, never the reverse.
"""

from __future__ import annotations

from typing import IO

from . import telegram, whatsapp
from .chat import ChatFormatError, ChatStream

__all__ = ["iter_chat"]


def iter_chat(app: str, stream: IO[bytes]) -> ChatStream:
    """Messages of a chat file of ``app`` ("whatsapp" or "telegram"), read from a binary stream.

    The stream should be seekable (WhatsApp's is read twice); one that is not
    is copied to a temporary file first.
    """
    if app == "whatsapp":
        return whatsapp.iter_messages(stream)
    if app == "telegram":
        return telegram.iter_messages(stream)
    raise ChatFormatError(f"not a chat app leakscan reads: {app!r}")
