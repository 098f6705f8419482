"""run(): a model over a source, with outputs and a summary; the CLI and embedding programs share it."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ._io import deferred_signals, signal_name
from .errors import UserError
from .find_size import FIND_SIZE
from .outputs import ImageFolderWriter, JsonlWriter, VideoWriter, check_video_path, image_target, written_by_edgetl
from .overlay import draw
from .serve import frame_stats, live_server
from .pacing import Pacer
from .sources import ImageSource, VideoSource, check_loop, image_files, open_source, redact
from .stream import Summary, process
from .uncertain import UncertainSaver
from .window import Window

log = logging.getLogger(__name__)


def check_file_target(option: str, path: Path) -> None:
    """A file we will create: not a folder, in a folder that exists and is writable."""
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; give a file name inside it")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: cannot write in {parent} (permission denied)")


def check_folder_target(option: str, folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder}: exists and is not a folder (for image sources --save is a folder)")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{option} {folder}: cannot write in {existing} (permission denied)")


def same(a: Path, b: Path) -> bool:
    return os.path.abspath(os.path.realpath(a)) == os.path.abspath(os.path.realpath(b))


def check_outputs(source: str, save: Path | None = None, jsonl: Path | None = None) -> None:
    """Refuse unusable --save/--jsonl paths before a model loads or a camera opens.

    Nothing is left behind; source files are never overwritten; image outputs replace only PNGs edgetl wrote.
    """
    images = image_files(source)
    source_file = Path(source) if images is None and Path(source).is_file() else None
    if jsonl is not None:
        jsonl = Path(jsonl)
        check_file_target("--jsonl", jsonl)
        if (source_file is not None and same(jsonl, source_file)) or any(same(jsonl, p) for p in images or []):
            raise UserError(f"--jsonl {jsonl}: is the source; choose another file")
        if save is not None and same(jsonl, save):
            raise UserError(f"--jsonl {jsonl}: is also --save; choose two different files")
    if save is None:
        return
    save = Path(save)
    if images is None:
        check_file_target("--save", save)
        if source_file is not None and same(save, source_file):
            raise UserError(f"--save {save}: is the source video; choose another file")
        check_video_path(save)
        return
    check_folder_target("--save", save)
    folders = {os.path.realpath(p.parent) for p in images}
    if os.path.realpath(save) in folders:
        raise UserError(f"--save {save}: is the source folder; annotated images would mix with (or replace) "
                        "the originals; choose another --save folder")
    sources = {os.path.realpath(p) for p in images}
    for image in images:
        target = image_target(save, image.name)
        if os.path.realpath(target) in sources:
            raise UserError(f"--save {save}: would overwrite source image {target}; choose another --save folder")
        if os.path.lexists(target) and not written_by_edgetl(target):
            raise UserError(f"--save {save}: {target.name} exists and was not written by edgetl; "
                            "refusing to replace it; choose another --save folder")


def run(model, source: str, digits: bool | None = None, show: bool = True, save: Path | None = None,
        jsonl: Path | None = None, roi=None, max_frames: int | None = None, min_score: float = 0.5, top_k: int = 1,
        smooth: bool = True, loop: bool = False,
        on_frame=None, serve=None, fast: bool = False, save_uncertain: Path | None = None,
        uncertain_margin: float = 0.3, find_size: int | None = FIND_SIZE, **camera_options) -> dict:
    """Process SRC with ``model`` (an edgetl.runtime.Model); returns the summary dict.

    Ctrl-C (or SIGTERM under the CLI) stops the stream: the outputs are finalised and the summary gets
    ``stopped`` (the signal) and ``written`` (frames per output). A crash keeps outputs with at least
    one frame written and re-raises. ``loop``: a video file or images start again when they end.
    ``serve``: the live view, ``[HOST:]PORT`` text or a serve.LiveServer (closed when run ends).
    ``fast``: a video file shown in a window or served plays as fast as it is processed, not at its own rate.
    ``save_uncertain``: a folder for the digit crops refused or read with a top-2 gap under ``uncertain_margin``.
    ``find_size``: digits are found in each frame scaled until its shorter side is this (find_size.py; 0: never).
    """
    save, jsonl = (Path(save) if save else None), (Path(jsonl) if jsonl else None)
    if loop:
        check_loop(source)
    check_outputs(source, save, jsonl)
    digits = model.card.digits if digits is None else digits
    keeper = uncertain_keeper(model, digits, save_uncertain, uncertain_margin)
    model.warmup()
    summary = Summary()
    outputs: dict[str, object] = {}
    window = None
    stopped = None
    with live_server(serve) as live, open_source(source, loop=loop, **camera_options) as frames:
        crashed = True
        try:
            jsonl_writer = JsonlWriter(jsonl) if jsonl else None
            if jsonl_writer:
                outputs[str(jsonl)] = jsonl_writer
            saver = None
            if save:
                saver = ImageFolderWriter(save) if isinstance(frames, ImageSource) else \
                    VideoWriter(save, getattr(frames, "fps", 30.0))
                outputs[str(save)] = saver
            last = {}  # the last result shown, redrawn with the status while a camera reconnects
            if show:
                keep = (lambda: keeper.keep_all(last["result"].index, last["result"].uncertain)) if keeper else None
                window = Window(snapshots=(jsonl or save or Path("x")).parent, on_keep=keep)  # beside the outputs
                if not window.available:
                    log.info("running without a window (%s); q/Esc need a window, Ctrl-C stops", window.reason)
                    window = None
            if window and hasattr(frames, "on_wait"):
                def waiting(status: str) -> bool:
                    shown = last.get("result")
                    if shown is None:
                        return True
                    return window.show(draw(shown.image, shown.detections, summary.fps(), shown.latency_ms,
                                            model.provider, status=status))

                frames.on_wait = waiting
            pacer = Pacer(frames.fps) if (window or live) and isinstance(frames, VideoSource) and not fast else None
            # with a keeper and a window every crop comes back (k keeps them all); the margin picks the unsure
            margin = (1.0 if window else uncertain_margin) if keeper else None
            for result in process(model, frames, digits, roi, min_score, top_k, max_frames, smooth, margin, find_size):
                if pacer:
                    pacer.wait()
                summary.add(result)
                if keeper:
                    keeper.save(result.index, [u for u in result.uncertain if u.unsure(uncertain_margin)],
                                result.detections)
                if jsonl_writer:
                    jsonl_writer.write(result.to_dict())
                if on_frame:
                    on_frame(result)
                if saver or window or live:
                    annotated = draw(result.image, result.detections, summary.fps(), result.latency_ms, model.provider)
                    if live:
                        live.publish(annotated, frame_stats(result, summary, model.provider, redact(source)))
                    if saver:
                        saver.write(annotated, result.name or f"frame{result.index:06d}")
                    if window:
                        last["result"] = result
                        if not window.show(annotated):
                            break
            crashed = False
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into Interrupted by the CLI
            crashed, stopped = False, signal_name(exc)
        finally:
            with deferred_signals(reraise=False) as late:  # a second signal must not cut a file in half
                closed, failure = {}, None
                for name, out in outputs.items():
                    try:
                        closed[name] = out.close(crashed=crashed)
                    except Exception as exc:  # close the others first
                        log.error("%s: could not finish it (%s)", name, exc)
                        failure = failure or exc
                if window:
                    window.close()
            if late.signum is not None and stopped is None and not crashed:
                stopped = signal_name(late.signum)
            if crashed:
                kept = [f"{out.count} frames in {name}" for name, out in outputs.items() if closed.get(name)]
                if kept:
                    log.warning("kept what was written before the error: %s", ", ".join(kept))
            elif failure is not None:
                raise failure
        report = summary.to_dict()
        report.update(skipped_frames=frames.skipped, provider=model.provider)
        if getattr(frames, "lost", None):
            report["source_lost"] = frames.lost
        if keeper:
            report["uncertain_saved"] = keeper.count
        if stopped:
            report["stopped"] = stopped
            report["written"] = {name: out.count for name, out in outputs.items() if closed.get(name)}
    return report


def uncertain_keeper(model, digits: bool, folder: Path | None, margin: float) -> UncertainSaver | None:
    """The --save-uncertain folder, made and checked before the source opens."""
    if folder is None:
        return None
    if not digits or model.card.task != "classification":
        raise UserError("--save-uncertain: keeps digit crops; it needs a digit model reading digits (--digits)")
    if not (isinstance(margin, (int, float)) and 0.0 <= margin <= 1.0):
        raise UserError(f"--uncertain-margin {margin}: must be in [0, 1] (the gap between the two best digits)")
    return UncertainSaver(Path(folder), model.card.class_names)
