"""Atomic file writes shared by every writer in cvgeo and deep (not part of the public API).

:func:`atomic_write` is the one place that turns bytes into a file: it writes a temporary
file in the destination's folder, flushes and ``fsync``s it, gives it the permissions a
plain ``open()`` would (``0o666`` less the umask; ``mkstemp``'s ``0o600`` would otherwise
survive the rename) and renames it over the destination with :func:`os.replace`. A
reader sees the old file or the new one, never a partial one.

A process killed between the two steps leaves its temporary file behind. The temporary
name records who made it, ``.<name>.<host>-<pid>.<random>.part``, so that
:func:`remove_stale_parts` can remove the ones whose writer on this machine has died,
and only those (a live writer's temporary file is never touched).

:func:`file_kind` names what a path that is not a regular file is, for messages.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "file_kind", "remove_stale_parts", "PART_SUFFIX"]

#: Suffix of the temporary files :func:`atomic_write` creates.
PART_SUFFIX = ".part"
_NAME_CHARS = 80  # of the destination's name kept in the temporary name (NAME_MAX is 255)
_PART_RE = re.compile(r"^\.(?P<name>.*)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[^.]+\.part$")


def umask() -> int:
    """The process umask, read without changing it where the OS allows (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _part_prefix(name: str) -> str:
    return f".{name[:_NAME_CHARS]}.{_host_tag()}-{os.getpid()}."


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], object], *,
                 mode: int = 0o666, clean_stale: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    Parameters
    ----------
    path : path
        The destination; its parent folders are created.
    data : bytes or callable
        The file's bytes, or a function called with the open binary temporary file that
        writes them (e.g. ``lambda fh: torch.save(obj, fh)``).
    mode : int
        Permission bits before the umask is applied (``0o666``: as ``open()`` gives).
    clean_stale : bool
        First remove temporary files of ``path`` left by dead writers on this machine
        (see :func:`remove_stale_parts`).

    Raises
    ------
    OSError
        The folder cannot be created or written, the disk is full...: the temporary file
        is removed and the destination is left as it was.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if clean_stale:
        remove_stale_parts(p.parent, [p.name])
    fd, tmp = tempfile.mkstemp(prefix=_part_prefix(p.name), suffix=PART_SUFFIX, dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode & ~umask())
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(p.parent)
    return p


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as exc:  # EPERM: alive, another user's
        return exc.errno != errno.ESRCH
    return True


def remove_stale_parts(folder: str | os.PathLike, names: Iterable[str] | None = None
                       ) -> list[Path]:
    """Remove temporary files in ``folder`` left by :func:`atomic_write` writers that died.

    Only files named as :func:`atomic_write` names them, made on this machine by a
    process that no longer exists, are removed; ``names`` (destination file names)
    restricts it further to those destinations. Returns the paths removed. A folder
    that cannot be listed removes nothing.
    """
    wanted = None if names is None else {n[:_NAME_CHARS] for n in names}
    host = _host_tag()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _PART_RE.match(entry.name)
        if (m is None or m["host"] != host or (wanted is not None and m["name"] not in wanted)
                or _pid_alive(int(m["pid"]))):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return sorted(removed)


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` that is not a regular file is, with its article:
    ``"a folder"``, ``"a FIFO"``, ``"a socket"``, ``"a character device"``,
    ``"a block device"``, else ``"a special file"``."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"
