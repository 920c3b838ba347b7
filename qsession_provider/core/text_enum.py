"""The one base for string-valued enums: stored, sent and printed as their value."""

from __future__ import annotations

from enum import Enum

__all__ = ["TextEnum"]


class TextEnum(str, Enum):
    """A ``str`` enum whose ``str()`` is its value (``str(JobStatus.DONE) == "DONE"``)."""

    def __str__(self) -> str:
        return str(self.value)
