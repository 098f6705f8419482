"""Atomic file writes and interruption handling.

A file is written to a temp path beside its target and renamed into place only when complete, so a
crash, Ctrl-C, SIGTERM or SIGKILL leaves either the earlier file or the new one, never a damaged one.
Temp paths are named ``.{name}.edgetl-tmp-{pid}-{random}{suffix}`` (the suffix last: Keras, onnx and
OpenCV pick the format from it); one left behind by a process that no longer runs is removed the next
time edgetl writes the same target.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import sys
import threading
from pathlib import Path

TAG = "edgetl"
SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}
SIGNAL_EXIT = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}  # the shell's convention


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- temp names -------------------------------------------------------------------------------------

def temp_path(target: str | Path, kind: str = "tmp", keep_suffix: bool = True) -> Path:
    """A fresh temp name beside ``target``; ``kind`` is "tmp" (being written) or "old" (set aside)."""
    target = Path(target)
    suffix = target.suffix if keep_suffix else ""
    return target.parent / f".{target.name}.{TAG}-{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and re.search(rf"\.{TAG}-(tmp|old)-\d+-[0-9a-f]+", name) is not None


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no cheap, harmless probe: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, under another user
        return True
    return True


def stale_temps(target: str | Path) -> list[tuple[str, Path]]:
    """(kind, path) of temp entries for ``target`` whose writer process is gone."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{TAG}-(tmp|old)-(\d+)-[0-9a-f]+")
    found = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match and not pid_alive(int(match.group(2))):
            found.append((match.group(1), entry))
    return found


def remove_path(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def remove_stale(target: str | Path) -> None:
    """Clean up after a dead writer of ``target``: a folder set aside during a swap that never finished
    is put back when the target is missing; every other leftover temp entry is removed."""
    target = Path(target)
    stale = stale_temps(target)
    for kind, path in stale:
        if kind == "old" and not os.path.lexists(target):
            with contextlib.suppress(OSError):  # if it cannot go back, keep it: it is the only copy
                os.rename(path, target)
            continue
        remove_path(path)


# --- staged writes ---------------------------------------------------------------------------------

class StagedFile:
    """A temp file beside ``path``: ``commit()`` renames it into place, ``discard()`` removes it.

    For writers that stay open across calls (a video, a JSONL log); one-shot writes use atomic_path.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        remove_stale(self.path)
        while True:
            tmp = temp_path(self.path)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            break
        self.tmp = tmp

    def commit(self) -> None:
        with deferred_signals():
            os.chmod(self.tmp, 0o666 & ~current_umask())  # created 0600; give the file the usual mode
            os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path in the target's folder; rename it to ``path`` only if the block succeeds.

    A failure (exception, Ctrl-C, SIGTERM, full disk) removes the temp file and leaves any earlier file intact.
    """
    staged = StagedFile(path)
    try:
        yield staged.tmp
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def make_temp_dir(target: str | Path) -> Path:
    """A new private folder beside ``target`` (for staging several files), stale ones removed first."""
    target = Path(target)
    remove_stale(target)
    while True:
        tmp = temp_path(target, keep_suffix=False)
        try:
            tmp.mkdir(mode=0o700)
            return tmp
        except FileExistsError:
            continue


def sha256_file(path: str | Path) -> str:
    """The file's sha256, read in 1 MiB blocks (models are tens of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# --- interruptions --------------------------------------------------------------------------------

class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised by the CLI's handler so that cleanup (``finally``) runs as for Ctrl-C."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(SIGNAL_NAMES.get(signum, str(signum)))
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_name(what: BaseException | int) -> str:
    """SIGINT or SIGTERM, by name, for an Interrupted (a plain KeyboardInterrupt is Ctrl-C) or a signal number."""
    signum = what if isinstance(what, int) else getattr(what, "signum", signal.SIGINT)
    return SIGNAL_NAMES.get(signum, f"signal {signum}")


def exit_code(exc: BaseException) -> int:
    return getattr(exc, "exit_code", 128 + signal.SIGINT)


_deferral = {"depth": 0, "pending": None, "imports": 0}  # imports: how deep in imports signal_handlers began


_received = {"signum": None}  # the last signal _handler saw


def caused_by_signal(exc: BaseException) -> int | None:
    """The signal behind an exception: a KeyboardInterrupt in its chain, or, for an ImportError, a signal the
    handler saw (a compiled extension interrupted while it initialises reports "initialization failed")."""
    seen, current = set(), exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return getattr(current, "signum", signal.SIGINT)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return _received["signum"] if isinstance(exc, ImportError) else None


def _handler(signum, frame):
    _received["signum"] = signum
    if _deferral["depth"] > 0:  # inside a rename that must not be cut in half: raise when it is done
        _deferral["pending"] = signum
        return
    if _imports_around(frame) > _deferral["imports"]:
        # raised here, it could land in a compiled extension's initialisation (onnx's, when an export imports
        # the quantizer): that extension crashes the process (-11, -6) or swallows it as an ImportError
        _send_again(signum)
        return
    raise Interrupted(signum)


def _imports_around(frame) -> int:
    """How many imports the frame's code runs inside (the import system's _find_and_load frames around it)."""
    count = 0
    while frame is not None:
        code = frame.f_code
        count += code.co_name == "_find_and_load" and code.co_filename.startswith("<frozen importlib")
        frame = frame.f_back
    return count


def _send_again(signum: int, delay: float = 0.05) -> None:
    """The same signal to this process a moment later, from another thread: the main thread handles it once
    it has left what it is in (an import, a callback whose exceptions Python drops)."""
    again = threading.Timer(delay, os.kill, (os.getpid(), signum))
    again.daemon = True
    again.start()


def _redeliver(hook):
    """An unraisable-exception hook: an Interrupted raised where Python drops exceptions (a weakref callback
    or __del__ run by the garbage collector) would be lost with the user's Ctrl-C; send the signal again a
    moment later so that it is raised once that callback (and this hook) returned."""

    def unraisable(info) -> None:
        if isinstance(info.exc_value, Interrupted):
            _send_again(info.exc_value.signum)
        else:
            hook(info)

    return unraisable


@contextlib.contextmanager
def signal_handlers():
    """SIGINT and SIGTERM raise Interrupted for the duration (main thread only; ignored signals stay
    ignored). The previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        current = signal.getsignal(signum)
        if current in (default, _handler):
            previous[signum] = current
            signal.signal(signum, _handler)
    hook, imports = sys.unraisablehook, _deferral["imports"]
    sys.unraisablehook = _redeliver(hook)
    # only imports begun inside the block hold a signal: a command run while its caller's module is being
    # imported (at import time) would otherwise hold it until that import, the whole command, is done
    _deferral["imports"] = _imports_around(sys._getframe())
    try:
        yield
    finally:
        sys.unraisablehook, _deferral["imports"] = hook, imports
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Deferred:
    """What deferred_signals saw: ``signum`` of a signal that arrived inside the block, else None."""

    signum: int | None = None


@contextlib.contextmanager
def deferred_signals(reraise: bool = True):
    """Hold SIGINT/SIGTERM until the block ends (a rename swap, closing outputs); then raise Interrupted,
    or with ``reraise=False`` only record it in the yielded Deferred. Ctrl-C is held even where the CLI
    installed no handler, as long as this runs in the main thread."""
    main = threading.current_thread() is threading.main_thread()
    swapped = main and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if swapped:
        signal.signal(signal.SIGINT, _handler)
    _deferral["depth"] += main
    state = Deferred()
    failed = False
    try:
        yield state
    except BaseException:
        failed = True
        raise
    finally:
        _deferral["depth"] -= main
        if swapped:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if main and _deferral["depth"] == 0 and _deferral["pending"] is not None:
            state.signum, _deferral["pending"] = _deferral["pending"], None
            if reraise and not failed:
                raise Interrupted(state.signum)
