"""Filtering and ordering for the workspace's ``list_*`` methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ._mapping import as_list

__all__ = ["ORDERBY_PROPERTIES", "check_orderby", "check_page", "ordered", "matches"]

T = TypeVar("T")

#: ``orderby_property`` values and the details field each sorts by.
ORDERBY_PROPERTIES = {
    "Name": "name",
    "ItemType": "item_type",
    "JobType": "job_type",
    "ProviderId": "provider_id",
    "Target": "target",
    "State": "status",
    "CreationTime": "creation_time",
}


def check_orderby(orderby_property: str | None) -> None:
    """Raise azure's ``ValueError`` for an unknown ``orderby_property``."""
    if orderby_property is not None and orderby_property not in ORDERBY_PROPERTIES:
        raise ValueError(f"Invalid orderby property: {orderby_property}")


def check_page(skip: int, top: int) -> None:
    """Raise ``ValueError`` naming a ``skip`` or ``top`` that is not a usable page."""
    for name, value, least in (("skip", skip, 0), ("top", top, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")


def ordered(items: Sequence[T], orderby_property: str | None, is_asc: bool | None) -> list[T]:
    """``items`` (workspace items, oldest first) sorted by ``orderby_property`` if given.

    Without a property the creation order is kept and ``is_asc`` is ignored (as in
    azure-quantum, which sends no ``$orderby`` then).
    """
    if orderby_property is None:
        return list(items)
    name = ORDERBY_PROPERTIES[orderby_property]

    def key(item: Any) -> tuple[bool, Any]:
        value = getattr(item.details, name, None)
        if value is None:
            return (True, "")
        return (False, value if name == "creation_time" else str(value).lower())

    return sorted(items, key=key, reverse=is_asc is False)


def matches(value: Any, wanted: Any, norm: Callable[[Any], Any] = str) -> bool:
    """True if no filter is given, or ``value`` equals one wanted value (case-insensitive)."""
    options = as_list(wanted)
    if options is None:
        return True
    if value is None:
        return False
    return any(norm(value).lower() == norm(o).lower() for o in options)
