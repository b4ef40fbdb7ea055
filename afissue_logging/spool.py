"""The offline spool: request bodies that could not be delivered, on disk, per service.

Layout: ``{spool_dir}/{service}/{created_ns:020d}-{pid}-{seq}-{occurrences}.batch``;
each file is one complete request body (``{"events": [...]}``, maybe gzipped, as its
first bytes tell). Crash safety: a body is written to a ``.tmp`` file, fsynced, then
renamed into place, so after ``kill -9`` a ``.batch`` file is either complete or absent;
stale ``.tmp`` files are removed. Replay is oldest first by creation time (the name
sorts that way). Concurrent processes of one service (pre-fork workers) share the
directory: a file is *claimed* by renaming it to ``.claimed-{pid}-{instance}`` before
sending, so only one process replays it. ``instance`` is a random token drawn once per
process (again after ``fork()``): a claim or temp file whose pid is dead, or whose pid is
ours but whose token is not (the previous PID 1 of a restarted container), is stale and
released / removed. A write that fails removes its temp file. Over ``max_bytes`` the
oldest files are deleted and their occurrences counted as dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import re
import secrets
import time
from pathlib import Path

__all__ = ["Spool", "SpoolEntry", "SpoolError", "instance_token"]

_NAME = re.compile(r"^(\d{20})-(\d+)-(\d+)-(\d+)\.batch$")
_CLAIMED = re.compile(r"^(.*\.batch)\.claimed-(\d+)(?:-([0-9a-f]+))?$")
# ".{name}.{instance}.tmp"; temp files of older versions lack the instance.
_TEMP = re.compile(r"^\.\d{20}-(\d+)-\d+-\d+\.batch(?:\.([0-9a-f]+))?\.tmp$")
_SAFE_SERVICE = re.compile(r"[^A-Za-z0-9._-]+")


class SpoolError(OSError):
    """The spool directory cannot be written."""


@dataclasses.dataclass(frozen=True)
class SpoolEntry:
    """One spooled request body, claimed by this process."""

    path: Path
    original: Path
    occurrences: int
    created_ns: int

    def read(self) -> bytes:
        """The body bytes."""
        return self.path.read_bytes()


_instance: tuple[int, str] = (0, "")


def instance_token() -> str:
    """This process's random token, drawn anew in a forked child (its pid changes)."""
    global _instance  # noqa: PLW0603
    pid = os.getpid()
    if _instance[0] != pid:
        _instance = (pid, secrets.token_hex(8))
    return _instance[1]


def _owner_alive(pid: int, token: str | None) -> bool:
    """Whether the process instance (*pid*, *token*) that wrote a name may still exist.

    Our own pid with another (or no) token was a previous process that had our pid.
    """
    if pid == os.getpid():
        return token == instance_token()
    return _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """A bounded, crash-safe directory of request bodies for one service."""

    def __init__(self, root: str | os.PathLike[str], service: str, max_bytes: int) -> None:
        safe = _SAFE_SERVICE.sub("_", service).strip("._") or "default"
        self.directory = Path(root) / safe
        self.max_bytes = max_bytes
        self._seq = itertools.count()

    def _ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def write(self, body: bytes, occurrences: int, created: float | None = None) -> int:
        """Store *body*; returns the occurrences dropped (oldest files) to stay in bound.

        Raises :class:`SpoolError` if the body cannot be stored.
        """
        try:
            self._ensure()
            dropped = self._make_room(len(body))
            created_ns = int((time.time() if created is None else created) * 1e9)
            name = f"{created_ns:020d}-{os.getpid()}-{next(self._seq)}-{occurrences}.batch"
            tmp = self.directory / f".{name}.{instance_token()}.tmp"
            self._write_new(tmp, body, self.directory / name)
            self._fsync_dir()
        except OSError as error:
            raise SpoolError(f"cannot spool to {self.directory}: {error}") from error
        return dropped

    @staticmethod
    def _write_new(tmp: Path, body: bytes, final: Path) -> None:
        """Write *body* to *tmp*, fsync, rename to *final*; on any failure remove *tmp*."""
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(body)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _files(self) -> list[tuple[str, Path, int]]:
        """(sort key, path, size) of complete and claimed files."""
        found: list[tuple[str, Path, int]] = []
        try:
            entries = list(os.scandir(self.directory))
        except OSError:  # absent or unreadable: nothing to replay from here
            return []
        for entry in entries:
            name = entry.name
            claimed = _CLAIMED.match(name)
            base = claimed.group(1) if claimed else name
            if not _NAME.match(base):
                continue
            try:
                size = entry.stat().st_size
            except FileNotFoundError:
                continue
            found.append((base, Path(entry.path), size))
        found.sort()
        return found

    def _make_room(self, incoming: int) -> int:
        files = self._files()
        total = sum(size for _, _, size in files) + incoming
        dropped = 0
        for base, path, size in files:
            if total <= self.max_bytes:
                break
            match = _NAME.match(base)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            total -= size
            dropped += int(match.group(4)) if match else 0
        return dropped

    def pending(self) -> int:
        """Number of complete, unclaimed files."""
        return sum(1 for base, path, _ in self._files() if path.name == base)

    def pending_occurrences(self) -> int:
        """Occurrences in complete, unclaimed files."""
        total = 0
        for base, path, _ in self._files():
            match = _NAME.match(base)
            if match and path.name == base:
                total += int(match.group(4))
        return total

    def recover(self) -> None:
        """Remove torn temp files and release claims of processes that no longer exist."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return
        for entry in entries:
            name = entry.name
            path = Path(entry.path)
            temp = _TEMP.match(name)
            if temp:
                if not _owner_alive(int(temp.group(1)), temp.group(2)):
                    path.unlink(missing_ok=True)
                continue
            claimed = _CLAIMED.match(name)
            if claimed and not _owner_alive(int(claimed.group(2)), claimed.group(3)):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(path, self.directory / claimed.group(1))

    def claim_oldest(self) -> SpoolEntry | None:
        """Claim the oldest unclaimed file for replay, or None if there is none."""
        for base, path, _ in self._files():
            if path.name != base:
                continue
            claimed = path.with_name(f"{base}.claimed-{os.getpid()}-{instance_token()}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue
            match = _NAME.match(base)
            assert match is not None
            return SpoolEntry(claimed, path, int(match.group(4)), int(match.group(1)))
        return None

    def done(self, entry: SpoolEntry) -> None:
        """The claimed file was delivered (or is undeliverable): delete it."""
        entry.path.unlink(missing_ok=True)

    def release(self, entry: SpoolEntry) -> None:
        """Give a claimed file back for a later replay."""
        with contextlib.suppress(FileNotFoundError):
            os.replace(entry.path, entry.original)
