"""run(): a model over a source, with outputs and a summary; the CLI and embedding programs share it."""
from __future__ import annotations

import logging
from pathlib import Path

from .outputs import ImageFolderWriter, JsonlWriter, VideoWriter, Window
from .overlay import draw
from .sources import ImageSource, open_source
from .stream import Summary, process

log = logging.getLogger(__name__)


def run(model, source: str, digits: bool | None = None, show: bool = True, save: Path | None = None,
        jsonl: Path | None = None, roi=None, max_frames: int | None = None, min_score: float = 0.5, top_k: int = 1,
        on_frame=None, **camera_options) -> dict:
    """Process SRC with ``model`` (an edgetl.runtime.Model); returns the summary dict."""
    digits = model.card.digits if digits is None else digits
    model.warmup()
    summary = Summary()
    outputs = []
    window = None
    with open_source(source, **camera_options) as frames:
        try:
            jsonl_writer = JsonlWriter(jsonl) if jsonl else None
            outputs += [jsonl_writer] if jsonl_writer else []
            saver = None
            if save:
                saver = ImageFolderWriter(save) if isinstance(frames, ImageSource) else \
                    VideoWriter(save, getattr(frames, "fps", 30.0))
                outputs.append(saver)
            if show:
                window = Window()
                if not window.available:
                    log.info("running without a window (%s); q/Esc need a window, Ctrl-C stops", window.reason)
                    window = None
            for result in process(model, frames, digits, roi, min_score, top_k, max_frames):
                summary.add(result)
                if jsonl_writer:
                    jsonl_writer.write(result.to_dict())
                if on_frame:
                    on_frame(result)
                if saver or window:
                    annotated = draw(result.image, result.detections, summary.fps(), result.latency_ms, model.provider)
                    if saver:
                        saver.write(annotated, result.name or f"frame{result.index:06d}")
                    if window and not window.show(annotated):
                        break
        except KeyboardInterrupt:
            log.info("interrupted")
        finally:
            for out in outputs:
                out.close()
            if window:
                window.close()
        report = summary.to_dict()
        report.update(skipped_frames=frames.skipped, provider=model.provider)
    return report
