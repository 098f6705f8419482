"""Chaos: kill `edgetl train`, `export` and `run` with SIGINT, SIGTERM and SIGKILL at random moments.

    python bench/chaos.py                  # 60 trials (15-25 min on 2 cores)
    python bench/chaos.py --trials 9       # one of each command x signal

Set-up (in --work, runs/chaos-work, made afresh): a tiny run (mnist-5k --limit 200, random weights, 32 px),
its export (model.onnx + model.int8.onnx in export/), a 300-frame digit clip and `run`'s --jsonl and --save
video. Each command's duration is measured there. Trial i kills command i % 3 with signal (i // 3) % 3 at a
moment drawn uniformly between its start and its measured duration (--seed), then checks every previous
output (all commands' files, hashed before the kill):
  damaged           missing, or changed into something that does not load: the run folder's model.keras
                    (Keras), card.json, metrics.json, PNGs; the .onnx files (onnxruntime + the sha256 check);
                    the JSONL (each line JSON, frames 0..n-1, at least one); the video (OpenCV, > 0 frames).
                    A change is allowed only to the killed command's own outputs, and only to a complete one.
  partial in place  a damaged file that is there: empty or not loadable where a good one was.
  temp leftovers    edgetl's .NAME.edgetl-tmp/old-PID-HEX entries after the kill; the next command must remove them.
Then the same command runs again, unkilled: it must exit 0, leave valid outputs and no temp entries.
A run folder set aside by a SIGKILL between a swap's two renames is no damage if the next train puts it back.
Exit codes of the killed process: 130/143 (edgetl's handler ran), -2/-15 (the signal landed outside edgetl's
handler: during Python start-up, nothing written yet, or during interpreter exit, after the outputs were in place;
the shell shows these as 130/143 too), -9, 0 (it finished before the kill); anything else is unexpected.
Killed processes whose output has a Python traceback are counted (issue 9 wants none), not failed.
Results: runs/bench-results/chaos.json; exit status 1 on any damage, partial file, failed next command,
uncleaned temp entry or unexpected exit code.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, machine, save, table  # noqa: E402
from edgetl.runtime._io import is_temp_name  # noqa: E402

console = Console(stderr=True)
COMMANDS = ("train", "export", "run")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
EXPECTED = {"SIGINT": {130, -2}, "SIGTERM": {143, -15}, "SIGKILL": {-9}}  # and 0 when it finished first
MARKER = "CHAOS-WORK"
TRAIN = ["--data", "mnist-5k", "--limit", "200", "--weights", "none", "--input-size", "32", "--feature-layer",
         "block1_pool", "--units", "8", "--epochs", "2", "--augment", "0", "--no-reject", "--styles", "0"]


class Work:
    """The folder the trials play in and each command's line and outputs."""

    def __init__(self, root: Path):
        self.root, self.run, self.export = root, root / "run", root / "export"
        self.clip, self.jsonl, self.video, self.logs = root / "clip.mp4", root / "out.jsonl", root / "out.mp4", root / "logs"

    def command(self, name: str) -> list[str]:
        edgetl = [sys.executable, "-m", "edgetl"]
        return {
            "train": [*edgetl, "train", *TRAIN, "--out", str(self.run), "--overwrite"],
            "export": [*edgetl, "export", str(self.run), "--quantize", "int8", "--calib-size", "64",
                       "--max-drop", "100", "--out", str(self.export)],
            "run": [*edgetl, "run", str(self.export / "model.int8.onnx"), "--source", str(self.clip), "--no-show",
                    "--device", "cpu", "--threads", "1", "--jsonl", str(self.jsonl), "--save", str(self.video)],
        }[name]

    def owner(self, path: Path) -> str:
        return {self.run: "train", self.export: "export"}.get(path.parent, "run")

    def outputs(self) -> list[Path]:
        """Every output file in place now (temp entries aside)."""
        files = [p for folder in (self.run, self.export) if folder.is_dir() for p in folder.iterdir()]
        files += [self.jsonl, self.video]
        return sorted(p for p in files if p.is_file() and not is_temp_name(p.name))

    def temps(self) -> list[str]:
        folders = [self.root, self.run, self.export]
        return sorted(str(p.relative_to(self.root)) for f in folders if f.is_dir() for p in f.iterdir()
                      if is_temp_name(p.name))


def hashes(work: Work) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in work.outputs()}


def default_signals() -> None:
    # A bench started in the background may inherit SIGINT ignored, and edgetl keeps an ignored signal ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(work: Work, name: str, tag: str) -> subprocess.Popen:
    work.logs.mkdir(exist_ok=True)
    log = open(work.logs / f"{tag}.log", "w")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(work.command(name), stdout=log, stderr=subprocess.STDOUT, cwd=work.root, env=env,
                             preexec_fn=default_signals)
    log.close()
    return child


def finish(child: subprocess.Popen, timeout: float = 300) -> int | str:
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return "hung"


def run_once(work: Work, name: str, tag: str) -> tuple[int | str, float]:
    began = time.perf_counter()
    code = finish(start(work, name, tag))
    return code, time.perf_counter() - began


# --- what a complete file is ---------------------------------------------------------------------

def need(condition: bool, why: str) -> None:
    if not condition:
        raise ValueError(why)


def load(path: Path) -> None:
    """Open ``path`` as its reader would; raise when it is not complete."""
    import cv2

    if path.suffix == ".keras":
        from edgetl.rundir import load_run

        load_run(path.parent)  # the model (safe_mode) and its card.json
    elif path.suffix == ".onnx":
        from edgetl.runtime.model import Model

        Model(path, device="cpu", threads=1)  # onnxruntime session, card, sha256 of the graph
    elif path.suffix == ".jsonl":
        text = path.read_text()
        frames = [json.loads(line)["frame"] for line in text.splitlines()]
        need(text.endswith("\n"), "last line cut short")
        need(frames == list(range(len(frames))), "frame indices with a gap")
    elif path.suffix == ".mp4":
        capture = cv2.VideoCapture(str(path))
        need(capture.isOpened() and capture.read()[0], "OpenCV reads no frame")
        capture.release()
    elif path.suffix == ".png":
        need(cv2.imread(str(path)) is not None, "not a readable image")
    elif path.suffix == ".csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        need(bool(rows) and all(None not in row.values() for row in rows), "no complete rows")
    elif path.suffix == ".json":
        json.loads(path.read_text())


def problem(path: Path) -> str | None:
    """None when ``path`` is a complete, loadable output; else what is wrong with it."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        load(path)
    except Exception as exc:  # anything a loader raises is a damaged file
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


# --- one trial ------------------------------------------------------------------------------------

def kill(work: Work, name: str, signame: str, delay: float, tag: str) -> dict:
    child = start(work, name, tag)
    time.sleep(delay)
    finished_first = child.poll() is not None
    if not finished_first:
        child.send_signal(SIGNALS[signame])
    code = finish(child)
    return {"code": code, "finished_first": finished_first}


def compare(work: Work, name: str, before: dict[Path, str], code) -> dict:
    """Previous outputs after the kill: kept byte-identical, replaced by a complete new one, or damaged."""
    after = hashes(work)
    kept = sum(after.get(path) == digest for path, digest in before.items())
    replaced, damaged, partial = [], [], []
    for path in sorted(set(before) | set(after)):
        if path in before and after.get(path) == before[path]:
            continue
        where = str(path.relative_to(work.root))
        why = problem(path) or (None if work.owner(path) == name else f"changed by `{name}`")
        if why is None:
            replaced.append(where)
            continue
        damaged.append(f"{where}: {why}")
        if path.exists():
            partial.append(where)
    set_aside = not work.run.exists() and any(".edgetl-old-" in t for t in work.temps())
    if set_aside:  # SIGKILL between a swap's two renames: the next train must put the previous run back
        damaged = [d for d in damaged if not d.startswith("run/")]
    return {"kept": kept, "replaced": replaced, "damaged": damaged, "partial": partial, "set_aside": set_aside,
            # train/export say "previous files kept" on 130/143: a complete new set is no damage, but counted
            "interrupted_but_replaced": bool(replaced) and code in (130, 143) and name != "run"}


def next_command(work: Work, name: str, tag: str, leftovers: list[str]) -> dict:
    code, seconds = run_once(work, name, tag)
    bad = [f"{p.relative_to(work.root)}: {why}" for p in work.outputs()
           if work.owner(p) == name and (why := problem(p))]
    remaining = sorted(set(leftovers) & set(work.temps()))
    ok = code == 0 and not bad and not work.temps()
    return {"code": code, "seconds": round(seconds, 1), "invalid": bad, "leftovers_remaining": remaining,
            "temps_after": work.temps(), "ok": ok}


def trial(work: Work, i: int, name: str, signame: str, delay: float) -> dict:
    before = hashes(work)
    outcome = kill(work, name, signame, delay, f"{i:02d}-{name}-{signame}")
    leftovers = work.temps()
    traceback = "Traceback (most recent call last)" in (work.logs / f"{i:02d}-{name}-{signame}.log").read_text()
    result = {"trial": i, "command": name, "signal": signame, "delay_s": round(delay, 2), **outcome,
              "unexpected_code": outcome["code"] not in EXPECTED[signame] | ({0} if outcome["finished_first"] else set()),
              "leftovers": leftovers, "traceback": traceback,
              **compare(work, name, before, outcome["code"])}
    result["next"] = next_command(work, name, f"{i:02d}-{name}-next", leftovers)
    return result


# --- set-up and report ----------------------------------------------------------------------------

def set_up(work: Work) -> dict[str, float]:
    """The first good outputs, and how long each command takes."""
    if work.root.exists():  # only a folder this script made (its marker) or an empty one is replaced
        if any(work.root.iterdir()) and not (work.root / MARKER).exists():
            sys.exit(f"--work {work.root}: not empty and not made by bench/chaos.py; choose another folder")
        shutil.rmtree(work.root)
    work.root.mkdir(parents=True)
    (work.root / MARKER).write_text("made by bench/chaos.py; deleted by its next run\n")
    from clips import render_clip
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    render_clip(work.clip, x, y, scenes=30, frames_per_scene=10, seed=7)
    durations = {}
    for name in COMMANDS:
        console.print(f"set-up: edgetl {name}")
        code, durations[name] = run_once(work, name, f"setup-{name}")
        if code != 0:
            sys.exit(f"set-up `edgetl {name}` failed (exit {code}); see {work.logs / f'setup-{name}.log'}")
    bad = [f"{p}: {why}" for p in work.outputs() if (why := problem(p))]
    if bad:
        sys.exit("set-up outputs do not load: " + "; ".join(bad))
    return durations


def failed(t: dict) -> bool:
    return bool(t["damaged"] or t["partial"] or not t["next"]["ok"] or t["unexpected_code"])


def tally(trials: list[dict]) -> dict:
    return {"trials": len(trials), "damaged": sum(len(t["damaged"]) for t in trials),
            "partial_in_place": sum(len(t["partial"]) for t in trials), "next_ok": sum(t["next"]["ok"] for t in trials),
            "finished_before_kill": sum(t["finished_first"] for t in trials),
            "outputs_kept": sum(t["kept"] for t in trials),
            "outputs_replaced_complete": sum(len(t["replaced"]) for t in trials),
            "interrupted_but_replaced": sum(t["interrupted_but_replaced"] for t in trials),
            "run_set_aside": sum(t["set_aside"] for t in trials),
            "trials_with_temp_leftovers": sum(bool(t["leftovers"]) for t in trials),
            "temp_leftover_entries": sum(len(t["leftovers"]) for t in trials),
            "leftovers_not_cleaned": sum(bool(t["next"]["leftovers_remaining"]) for t in trials),
            "exit_codes": dict(sorted(Counter(str(t["code"]) for t in trials).items())),
            "unexpected_exit_codes": sum(t["unexpected_code"] for t in trials),
            "tracebacks_printed": sum(t["traceback"] for t in trials)}


def summarise(trials: list[dict], durations: dict, wall: float, args) -> dict:
    data = {"machine": machine(), "seed": args.seed, "wall_s": round(wall, 1),
            "durations_s": {k: round(v, 1) for k, v in durations.items()}, **tally(trials),
            "per_command_signal": {f"{c} {s}": tally([t for t in trials if (t["command"], t["signal"]) == (c, s)])
                                   for c in COMMANDS for s in SIGNALS},
            "command_lines": {name: " ".join(Work(args.work).command(name)) for name in COMMANDS}}
    data["temp_leftovers_cleaned_by_next_command"] = data["trials_with_temp_leftovers"] - data["leftovers_not_cleaned"]
    data["failed_trials"] = [t["trial"] for t in trials if failed(t)]
    data["passed"] = not data["failed_trials"]
    data["trial_log"] = trials
    return data


def report(data: dict) -> None:
    n = data["trials"]
    rows = [
        ("machine", data["machine"]),
        ("trials (train/export/run x SIGINT/SIGTERM/SIGKILL)", f"{n}, seed {data['seed']}, {data['wall_s'] / 60:.1f} min"),
        ("command durations (set-up)", ", ".join(f"{k} {v:.1f} s" for k, v in data["durations_s"].items())),
        ("previous outputs damaged", f"{data['damaged']} (target 0)"),
        ("partial files in place of good ones", f"{data['partial_in_place']} (target 0)"),
        ("next command succeeded", f"{data['next_ok']} / {n}"),
        ("outputs kept byte-identical / replaced by complete ones",
         f"{data['outputs_kept']} / {data['outputs_replaced_complete']}"),
        ("processes that finished before the kill", str(data["finished_before_kill"])),
        ("trials leaving temp entries (entries) / cleaned by the next command",
         f"{data['trials_with_temp_leftovers']} ({data['temp_leftover_entries']}) / "
         f"{data['temp_leftovers_cleaned_by_next_command']}"),
        ("unexpected exit codes", str(data["unexpected_exit_codes"])),
        ("killed processes that printed a Python traceback (not counted as a failure)", str(data["tracebacks_printed"])),
    ]
    print(table("chaos: kill train, export and run at random moments", rows))
    rows = [(key, f"{c['trials']} trials, exit codes " + ", ".join(f"{k} x{v}" for k, v in c["exit_codes"].items())
             + f"; replaced {c['outputs_replaced_complete']}, leftovers {c['trials_with_temp_leftovers']}, "
             f"damaged {c['damaged']}, next ok {c['next_ok']}") for key, c in data["per_command_signal"].items() if c["trials"]]
    print(table("per command and signal", rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "chaos-work", help="made afresh (a previous one deleted first)")
    args = parser.parse_args()
    args.work = args.work.resolve()
    began = time.perf_counter()
    work = Work(args.work)
    durations = set_up(work)
    rng = random.Random(args.seed)
    trials = []
    columns = (TextColumn("chaos"), BarColumn(bar_width=30), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("chaos", total=args.trials, info="")
        for i in range(args.trials):
            name, signame = COMMANDS[i % 3], list(SIGNALS)[(i // 3) % 3]
            delay = rng.uniform(0, durations[name])
            bar.update(task, info=f"{name} {signame} at {delay:.1f} s")
            trials.append(result := trial(work, i, name, signame, delay))
            if failed(result):
                console.print(f"[red]trial {i} ({name} {signame} at {delay:.1f} s):[/] "
                              f"{json.dumps({k: result[k] for k in ('code', 'damaged', 'next')}, default=str)}")
            bar.advance(task)
    data = summarise(trials, durations, time.perf_counter() - began, args)
    save("chaos", data)
    report(data)
    console.print(f"wrote {RESULTS / 'chaos.json'}")
    return 0 if data["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
