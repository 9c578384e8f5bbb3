"""JSON in and out with money kept exact.

Raw responses are parsed with ``parse_float=Decimal``, so ``19.9`` in a 1688 response becomes
``Decimal("19.9")`` and never a binary float. On output a ``Decimal`` is written as the same
number literal it contains (``19.90`` stays ``19.90``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, TextIO


def _decimal_marker() -> str:
    """Make a random marker that stands for a Decimal while the encoder runs.

    Each call of :func:`dumps` makes its own, so source strings cannot contain it.
    """
    return "\x00" + uuid.uuid4().hex + ":"


# Any marker as the encoder writes it; only the one of the current call is replaced.
_MARKED = re.compile(r'"\\u0000([0-9a-f]{32}):([-+0-9.Ee]+)\\u0000"')


def loads(text: str | bytes) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def _encoder(mark: str):
    def encode(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"cannot write {value} as JSON")
            return mark + format(value, "f") + "\x00"

        if isinstance(value, (set, frozenset, tuple)):
            return list(value)

        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return encode


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Serialise ``value`` as JSON with Chinese kept as text and ``Decimal`` as exact numbers.

    With ``indent=None`` the output is compact (no spaces), the form platform APIs expect for
    JSON-in-a-string fields.
    """
    separators = (",", ":") if indent is None else (",", ": ")
    mark = _decimal_marker()
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys, default=_encoder(mark))
    token = mark[1:-1]
    return _MARKED.sub(lambda match: match.group(2) if match.group(1) == token else match.group(0), text)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """Open a text stream whose content replaces ``path`` in one rename when the block ends without an error.

    A crash or exception leaves the old file (or none) and no half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a crash never leaves half a file."""
    with atomic_writer(path) as stream:
        stream.write(text)
