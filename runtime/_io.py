"""Atomic file writes: a temp file beside the target, renamed into place when complete."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class StagedFile:
    """A temp file beside ``path``: ``commit()`` renames it into place, ``discard()`` removes it.

    For writers that stay open across calls (a video, a JSONL log); one-shot writes use atomic_path.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # The temp name keeps the suffix: Keras, onnx and OpenCV pick the format from it.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}",
                                   dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> None:
        os.chmod(self.tmp, 0o666 & ~current_umask())  # mkstemp creates 0600; give the file the usual mode
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path in the target's folder; rename it to ``path`` only if the block succeeds.

    A failure (exception, Ctrl-C, full disk) removes the temp file and leaves any earlier file intact.
    """
    staged = StagedFile(path)
    try:
        yield staged.tmp
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
