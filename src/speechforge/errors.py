"""The one exception type users see.

Every error a user can cause (a bad manifest line, an unreadable file, a wrong option) is raised as a
:class:`SpeechforgeError` whose message names the file, line or option and says what to do. The CLI prints
the message on one line without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

from pathlib import Path


class SpeechforgeError(Exception):
    """A user-facing error: the message alone must tell the user what is wrong and where."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)
        self.message = message


class AudioError(SpeechforgeError):
    """Audio that cannot be read: missing, empty, corrupt or of an unsupported format."""


class ManifestError(SpeechforgeError):
    """A manifest that is not valid JSON Lines or whose records break the schema."""
