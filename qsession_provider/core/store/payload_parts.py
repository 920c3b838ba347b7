"""Payload texts with their large circuits stored once (the SQLite store's ``payload_parts``).

A VQE loop submits the same circuit job after job: its encoded text (~11 KB for a 12-qubit
efficient-SU2 ansatz) is most of every payload. A payload arrives as a
:class:`~qsession_provider.core.ir.encoding.PayloadText` that names those parts; the store
keeps each part once, keyed by its hash, and the job's payload with each part replaced by
``MARK + hash + MARK``. ``MARK`` is a control character, which JSON text never holds raw,
so a stored payload is either plain JSON (no mark: as written by earlier versions) or
pieces to join. Reading joins the parts back: the text read is the text written.

Parts are never deleted (they are shared by every job of the circuit and small next to
the jobs); deleting a job leaves its circuit's part for the next one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable

from ...errors import StoreError

__all__ = ["MARK", "PartHashes", "join_parts", "split_parts"]

#: Separates a part's hash from the text around it (U+001E, never raw in JSON text).
MARK = "\x1e"


class PartHashes:
    """The hash of each part text (kept per text object: a circuit's text is one object,
    reused job after job) and which parts are known to be stored.

    Thread-safe; at most ``maxsize`` texts are remembered (then it starts over).
    """

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._by_id: dict[int, tuple[str, str]] = {}  # id(text) -> (text, hash)
        #: Hashes of parts committed to the store (by this process, or found there).
        self.stored: set[str] = set()
        self._lock = threading.Lock()

    def hash_of(self, text: str) -> str:
        """The hex digest naming ``text`` (BLAKE2b, 128 bits)."""
        found = self._by_id.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
        with self._lock:
            if len(self._by_id) >= self.maxsize:
                self._by_id.clear()
                self.stored.clear()
            self._by_id[id(text)] = (text, digest)  # the text is kept: its id stays its own
        return digest

    def mark_stored(self, hashes: Iterable[str]) -> None:
        """Note parts that a committed transaction holds."""
        with self._lock:
            self.stored.update(hashes)


def split_parts(payload: str, hashes: PartHashes) -> tuple[str, dict[str, str]]:
    """``(text to store, {hash: part})`` for ``payload``: its shared parts (if it names
    any) replaced by their hashes, and the parts not known to be stored yet."""
    shared = getattr(payload, "shared", ())
    text = str(payload)
    if not shared:
        return text, {}
    new: dict[str, str] = {}
    for part in shared:
        digest = hashes.hash_of(part)
        text = _replace(text, part, MARK + digest + MARK)
        if digest not in hashes.stored:
            new[digest] = part
    return text, new


def _replace(text: str, part: str, token: str) -> str:
    """``text.replace(part, token)``, found by a short prefix then compared whole:
    ``str.replace`` prepares its whole (kilobytes long) needle on every call."""
    prefix = part[:64]
    pieces: list[str] = []
    start = 0
    at = text.find(prefix)
    while at >= 0:
        if text.startswith(part, at):
            pieces += (text[start:at], token)
            start = at + len(part)
            at = text.find(prefix, start)
        else:
            at = text.find(prefix, at + 1)
    if not pieces:
        return text
    pieces.append(text[start:])
    return "".join(pieces)


def join_parts(stored: str, fetch: Callable[[list[str]], dict[str, str]]) -> str:
    """The payload text ``stored`` stands for; ``fetch(hashes)`` reads parts by hash.

    Raises:
        StoreError: a part is missing from the store.
    """
    if MARK not in stored:
        return stored
    pieces = stored.split(MARK)
    wanted = sorted(set(pieces[1::2]))
    found = fetch(wanted)
    missing = [digest for digest in wanted if digest not in found]
    if missing:
        raise StoreError(
            f"the store has lost part {missing[0]} of a payload (a circuit stored once for "
            "its jobs); the job's payload cannot be read"
        )
    pieces[1::2] = [found[digest] for digest in pieces[1::2]]
    return "".join(pieces)
