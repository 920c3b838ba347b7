"""What the stored records share: a fast ``replace`` and their JSON form.

:class:`~.job_record.JobRecord` and :class:`~.session.SessionRecord` are frozen
dataclasses built on :class:`Record`. Their ``__init__`` only assigns the fields, so an
instance dictionary holds exactly the fields, in order: ``replace`` copies it instead of
going through ``dataclasses.replace``, and ``to_json`` starts from a copy of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from .ir.encoding import compact, from_jsonable, to_jsonable

__all__ = ["Record", "field_names"]

R = TypeVar("R", bound="Record")


class Record:
    """Base of the records the store keeps (a subclass is a frozen dataclass).

    A subclass has ``tags`` (a tuple) and ``metadata`` (free JSON-like data) fields, sets
    :attr:`_FIELDS` to :func:`field_names` of itself, and turns its enum fields into text
    in :meth:`_encode_fields` and back in :meth:`_decode_fields`.
    """

    #: The dataclass field names (set by each subclass, see :func:`field_names`).
    _FIELDS: ClassVar[frozenset[str]] = frozenset()

    tags: tuple[str, ...]
    metadata: dict[str, Any]

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` applied (as ``dataclasses.replace``, without its overhead).

        A record is replaced at every job and session transition, so this skips the
        per-field introspection of ``dataclasses.replace``; unknown names still go to it,
        which raises its usual ``TypeError``.
        """
        if not self._FIELDS.issuperset(changes):
            return dataclasses.replace(self, **changes)  # type: ignore[type-var]
        new = object.__new__(type(self))
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        return new

    def to_json(self, *, metadata: Any = None) -> dict[str, Any]:
        """JSON-compatible data.

        Args:
            metadata: the metadata already turned into JSON data (the SQLite store keeps
                a copy made when it was written); None encodes ``self.metadata`` through
                :func:`~qsession_provider.core.ir.encoding.to_jsonable`.
        """
        data = dict(self.__dict__)  # exactly the fields, in order (see the module doc)
        data["tags"] = list(self.tags)
        data["metadata"] = to_jsonable(self.metadata) if metadata is None else metadata
        self._encode_fields(data)
        return data

    def to_json_text(self, *, metadata: Any = None) -> str:
        """``json.dumps(self.to_json(), separators=(",", ":"))``: what stores keep."""
        return compact(self.to_json(metadata=metadata))

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        """Inverse of :meth:`to_json` (unknown keys are ignored)."""
        names = cls._FIELDS
        values = {k: v for k, v in data.items() if k in names}
        values["tags"] = tuple(values.get("tags") or ())
        values["metadata"] = from_jsonable(values.get("metadata") or {})
        cls._decode_fields(values)
        return cls(**values)

    def _encode_fields(self, data: dict[str, Any]) -> None:
        """Turn the subclass's own non-JSON fields of ``data`` into JSON values, in place."""

    @classmethod
    def _decode_fields(cls, values: dict[str, Any]) -> None:
        """Inverse of :meth:`_encode_fields`, in place."""


def field_names(cls: type) -> frozenset[str]:
    """The field names of the dataclass ``cls`` (what :attr:`Record._FIELDS` holds)."""
    return frozenset(f.name for f in dataclasses.fields(cls))
