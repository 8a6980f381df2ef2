"""The one way kansr writes files: to a temporary sibling, then renamed into place.

A crash or an interrupt leaves either the old file or the new one, never a
half-written one.  The temporary file is created with mode ``0o666`` so the
caller's umask decides the permissions, exactly as for a file opened with
``open(path, "w")`` (``tempfile.mkstemp`` would make it private, ``0o600``).
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_json"]


def _create_sibling(path: Path) -> str:
    """Create an empty, unique, umask-respecting temporary file beside ``path``."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)
    raise FileExistsError(f"could not create a temporary file beside {str(path)!r}")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], *, parents: bool = False) -> Path:
    """Call ``write(tmp_path)``, flush it to disk, then rename it onto ``path``.

    Parameters
    ----------
    path : str or path-like
        Destination file.
    write : callable
        Receives the temporary file's path (a str) and writes the content
        there (``torch.save(obj, tmp)``, ``fig.savefig(tmp)``, ...).
    parents : bool
        Create missing parent directories; otherwise a missing directory is a
        ``FileNotFoundError`` that names it.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    folder = path.parent
    if parents:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(folder)!r} does not exist")
    tmp = _create_sibling(path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, parents: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return atomic_write(path, write, parents=parents)


def atomic_write_json(path: str | os.PathLike, payload: Any, *, parents: bool = False) -> Path:
    """Write ``payload`` as indented JSON (strict: NaN and inf are refused) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=2, allow_nan=False) + "\n", parents=parents)
