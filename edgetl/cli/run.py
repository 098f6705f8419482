"""The run command: imports only edgetl.runtime (numpy, OpenCV, onnxruntime), never TensorFlow."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from edgetl.runtime.card import FITS
from edgetl.runtime.errors import UserError
from edgetl.runtime.find_size import FIND_SIZE
from edgetl.runtime.providers import DEVICE_CHOICES


Device = Enum("Device", {device: device for device in DEVICE_CHOICES}, type=str)  # runtime.providers' table


ImageFit = Enum("ImageFit", {fit: fit for fit in FITS}, type=str)  # the card's resize.fit choices


def parse_roi(text: Optional[str]) -> Optional[list[int]]:
    """X,Y,W,H in whole pixels, X and Y >= 0, W and H >= 1 (whether it fits the frame is known at the first frame)."""
    if text is None:
        return None
    try:
        roi = [int(v) for v in text.split(",")]
    except ValueError:
        roi = []
    if len(roi) != 4 or roi[2] <= 0 or roi[3] <= 0 or min(roi) < 0:
        raise UserError(f"--roi {text}: expected X,Y,W,H in pixels (X, Y >= 0; W, H >= 1), e.g. 100,50,320,240")
    return roi


def check_numbers(min_score: float = 0.5, top_k: int = 1, max_frames: int | None = None,
                  threads: int | None = None) -> None:
    """The run's numeric options (typer checks the ranges on the command line; NaN passes its checks)."""
    if not (isinstance(min_score, (int, float)) and 0.0 <= min_score <= 1.0):
        raise UserError(f"--min-score {min_score}: must be a number from 0 to 1, e.g. 0.5")
    for option, value in (("--top-k", top_k), ("--max-frames", max_frames), ("--threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"{option} {value}: must be a whole number >= 1")


def stopped_message(summary: dict) -> str:
    """One honest line after Ctrl-C or SIGTERM: what was finalised where."""
    written = summary.get("written") or {}
    counts = set(written.values())
    if not written:
        return f"stopped after {summary['frames']} frames ({summary['stopped']}); no files written"
    if len(counts) == 1:
        where = f"{counts.pop()} frames written to {', '.join(written)}"
    else:
        where = ", ".join(f"{n} frames written to {name}" for name, n in written.items())
    return f"stopped; {where} ({summary['stopped']})"


def register(app: typer.Typer, friendly) -> None:
    @app.command()
    @friendly
    def run(
        model: Path = typer.Argument(..., help="An .onnx file written by edgetl export (it carries its model card)."),
        source: str = typer.Option("0", help="Camera index, video file, image file, folder, glob, or rtsp/http URL."),
        digits: Optional[bool] = typer.Option(None, "--digits/--whole-frame",
                                              help="Find and read handwritten digits (default for digit models)."),
        show: bool = typer.Option(True, "--show/--no-show", help="Open a window when a display exists."),
        save: Optional[Path] = typer.Option(None, help="Annotated video (.mp4, .avi, .mkv, .mov), or a folder "
                                                       "for image sources (never the source folder)."),
        jsonl: Optional[Path] = typer.Option(None, help="Write one JSON object per frame."),
        device: Device = typer.Option(Device.auto, help="Execution provider: auto picks TensorRT, CUDA, then CPU."),
        roi: Optional[str] = typer.Option(None, help="X,Y,W,H region to read (default: the whole frame, fitted to the input as the model card says)."),
        fit: Optional[ImageFit] = typer.Option(None, "--fit", help="How --whole-frame brings the frame (or --roi) "
                                               "to the model's input: squash, pad (letterbox on black) or "
                                               "center_crop (default: the model card's resize.fit, as training did)."),
        max_frames: Optional[int] = typer.Option(None, min=1, help="Stop after N frames."),
        loop: bool = typer.Option(False, "--loop", help="A video file or images start again when they end, until "
                                                        "--max-frames or Ctrl-C (not for a camera or stream)."),
        min_score: float = typer.Option(0.5, min=0.0, max=1.0, help="Digits scored below this are dropped (0..1)."),
        top_k: int = typer.Option(1, min=1, help="Labels per detection in whole-frame mode."),
        smooth: bool = typer.Option(True, "--smooth/--no-smooth",
                                    help="Track digits across frames and vote their labels (steady overlay), "
                                         "and read a still digit once; --no-smooth reads every crop of every "
                                         "frame and gives each frame's own reading."),
        threads: Optional[int] = typer.Option(None, min=1, help="onnxruntime intra-op threads (default: all cores; half of them for digit models, whose finder runs beside the model)."),
        max_reconnects: int = typer.Option(10, min=0, help="A camera or stream that stops delivering frames is "
                                                          "reopened (back-off 0.5 s doubling to 8 s) up to N "
                                                          "times in a row, then the run ends; 0: never reopen."),
        fp16: bool = typer.Option(False, "--fp16", help="TensorRT: build float16 engines (faster, less exact); "
                                                         "off unless given."),
        serve: Optional[str] = typer.Option(None, "--serve", metavar="[HOST:]PORT",
                                            help="Show the annotated stream as a web page at http://HOST:PORT/ "
                                                 "(MJPEG; HOST 127.0.0.1 unless given, 0.0.0.0 for every interface)."),
        fast: bool = typer.Option(False, "--fast", help="With a window or --serve, play a video file as fast as it "
                                                        "is processed (default: at its own frame rate, like a camera)."),
        save_uncertain: Optional[Path] = typer.Option(None, help="Keep digit crops the model refused or was unsure "
                                                                 "of in DIR/unsure/, beside empty class folders: sort "
                                                                 "them, then `edgetl train --data mnist-5k --add DIR`."),
        uncertain_margin: float = typer.Option(0.3, min=0.0, max=1.0, help="With --save-uncertain: a crop is "
                                               "unsure when its best digit beats the second by less than this; 1 keeps every "
                                               "crop, confident misreads too."),
        find_size: int = typer.Option(FIND_SIZE, min=0, help="Digits are found in the frame (and --roi) scaled "
                                      "until its shorter side is this many px (enlarged at most 2x): the finder is "
                                      "set for 640x480; HD and 320x240 frames read worse at their own size. 0: their "
                                      "own size."),
    ):
        """Run an exported model on a camera, video, images or stream; draw and log what it reads."""
        from edgetl.runtime._io import SIGNAL_EXIT
        from edgetl.runtime.app import check_outputs, run as run_stream
        from edgetl.runtime.model import Model
        from edgetl.runtime.serve import LiveServer
        from edgetl.runtime.sources import check_loop

        if model.suffix != ".onnx":
            raise UserError(f"{model}: edgetl run takes an .onnx file; export a run with `edgetl export RUN`")
        check_numbers(min_score=min_score, top_k=top_k, max_frames=max_frames, threads=threads)
        parsed_roi = parse_roi(roi)
        if loop:
            check_loop(source)
        check_outputs(source, save, jsonl)  # before the model loads or a camera opens
        live = LiveServer.open(serve) if serve else None  # likewise a port in use or a bad host
        if live:
            typer.echo(f"live view: {live.url}", err=True)
        try:
            loaded = Model(model, device=device.value, threads=threads, fp16=fp16)
            if fit:
                loaded.use_fit(fit.value)
        except BaseException:
            if live:
                live.close()
            raise
        summary = run_stream(loaded, source, digits=digits, show=show, save=save, jsonl=jsonl,
                             roi=parsed_roi, max_frames=max_frames, min_score=min_score, top_k=top_k, smooth=smooth,
                             check_roi=parsed_roi,  # the first frame must contain the whole --roi
                             loop=loop, serve=live,  # run closes it
                             fast=fast, save_uncertain=save_uncertain, uncertain_margin=uncertain_margin,
                             max_reconnects=max_reconnects, find_size=find_size)
        typer.echo(json.dumps(summary))
        if summary.get("stopped"):
            typer.echo(stopped_message(summary), err=True)
            raise typer.Exit(SIGNAL_EXIT.get(summary["stopped"], 130))
