"""What jobs and sessions share: :class:`WorkspaceItem`, and what they need of a workspace.

Items talk to the runtime themselves, so they need only :class:`WorkspaceLike` of their
workspace (its runtime and store location); :class:`~qsession_provider.azure.Workspace`
is one, built on top of the items.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from ..client import RuntimeAPI
from ._models import ItemDetails
from .enums import ItemType

__all__ = ["WorkspaceItem", "WorkspaceLike"]

D = TypeVar("D", bound=ItemDetails)


class WorkspaceLike(Protocol):
    """What a workspace item needs of its workspace (``Workspace`` provides it)."""

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime the item lives in."""
        ...

    @property
    def store(self) -> str:
        """Location of the runtime's store (it names the items' data URIs)."""
        ...


class WorkspaceItem(Generic[D]):
    """Something stored in a workspace (a job or a session): ``workspace`` and ``details``."""

    def __init__(self, workspace: WorkspaceLike, details: D) -> None:
        self._workspace = workspace
        self._details = details

    @property
    def workspace(self) -> WorkspaceLike:
        """The workspace the item belongs to."""
        return self._workspace

    @property
    def details(self) -> D:
        """The item's details (replaced by ``refresh()``)."""
        return self._details

    @details.setter
    def details(self, value: D) -> None:
        self._details = value

    @property
    def id(self) -> str:
        """The item's id."""
        return str(self._details.id)

    @property
    def item_type(self) -> ItemType:
        """``Job`` or ``Session``."""
        return ItemType(self._details.item_type)
