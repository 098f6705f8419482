"""How much of the desk misreads any model of this recipe could win back: several trainings read the same crops.

    python bench/model_consensus.py --models runs/bench runs/seed1 runs/seed2 [--clips wide-200 wide-201]
        [--sheet consensus.png]

The crops are the runtime finder's cut of every written digit it boxes well on the tune clips (IoU >= 0.6 with the
written box, bench/head_spread.py's ``desk_crops``), read by each model's int8 export under the card's rules (the "not
a digit" and "two digits" shares taken out, as ``stream.digit_probabilities`` does). Prints, per model, how many it
reads right; then how many crops k of the models misread, for every k; the crops every model misreads as the same
other digit, by digit written and read; and the models' mean probabilities read as one ensemble.

A crop every training misreads as one same digit is a shared blind spot or a digit that, as drawn, looks like the
other one: ``--sheet`` writes them as a contact sheet to look at. What the models disagree on is what a better head,
or an ensemble, could win. Tune clips only: the report clips stay unread.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine, save  # noqa: E402
from clip_sets import require_rendered  # noqa: E402
from head_spread import DESK_CLIPS, desk_crops  # noqa: E402
from writers import Classifier  # noqa: E402


def digit_readings(model_path: Path, crops: np.ndarray) -> np.ndarray:
    """Each crop's probabilities over the digits alone, as the runtime reads them with the model."""
    from edgetl.runtime.stream import digit_probabilities

    classify = Classifier(model_path)
    return digit_probabilities(classify.card, classify(crops))[0]


def int8_export(run_or_model: Path) -> Path:
    path = run_or_model / "model.int8.onnx" if run_or_model.is_dir() else run_or_model
    if not path.exists():
        raise SystemExit(f"{path}: no such model; run edgetl export {run_or_model} --quantize int8")
    return path


def write_sheet(path: Path, crops: np.ndarray, labels: np.ndarray, read: np.ndarray, most: int = 96) -> None:
    import cv2

    tiles = []
    for crop, label, guess in list(zip(crops, labels, read))[:most]:
        tile = cv2.cvtColor(cv2.resize(crop[..., 0], (84, 84), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR)
        cv2.putText(tile, f"{label} read {guess}", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 12)
    cv2.imwrite(str(path), np.vstack([np.hstack(tiles[r:r + 12]) for r in range(0, len(tiles), 12)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, nargs="+", required=True, help="run folders or .onnx files")
    parser.add_argument("--clips", nargs="+", default=list(DESK_CLIPS), help="tune clips to cut crops from")
    parser.add_argument("--sheet", type=Path, help="a PNG of the crops every model misreads as one same digit")
    args = parser.parse_args()
    if len(args.models) < 2:
        raise SystemExit("--models: give two or more trainings to compare")
    require_rendered(args.clips)
    crops, labels = desk_crops([CLIPS / f"{name}.mp4" for name in args.clips])
    readings = np.stack([digit_readings(int8_export(m), crops) for m in args.models])
    guesses = readings.argmax(axis=2)
    wrong = (guesses != labels).sum(axis=0)
    shared = (wrong == len(args.models)) & (guesses == guesses[0]).all(axis=0)
    ensemble = float((readings.mean(axis=0).argmax(axis=1) == labels).mean())
    print(f"### {len(labels):,} well-boxed crops of {', '.join(args.clips)}, read by {len(args.models)} models "
          f"({machine()})\n")
    print("| model | read right |\n|---|---|")
    for model, guess in zip(args.models, guesses):
        print(f"| {model} | {(guess == labels).mean():.2%} |")
    print(f"| the models' mean probabilities | {ensemble:.2%} |\n")
    by_k = collections.Counter(wrong.tolist())
    print("misread by k models: " + ", ".join(f"{k}: {by_k[k]}" for k in range(len(args.models) + 1)))
    pairs = collections.Counter(zip(labels[shared].tolist(), guesses[0, shared].tolist()))
    print(f"misread by every model as one same digit: {shared.sum()} ({shared.mean():.2%}); written -> read: "
          + ", ".join(f"{a}->{b} x{n}" for (a, b), n in pairs.most_common(12)))
    if args.sheet:
        write_sheet(args.sheet, crops[shared], labels[shared], guesses[0, shared])
        print(f"sheet: {args.sheet}")
    save("model_consensus", {"models": [str(m) for m in args.models], "clips": args.clips, "crops": len(labels),
                             "right": [float((g == labels).mean()) for g in guesses], "ensemble": ensemble,
                             "misread_by_k": {k: by_k[k] for k in range(len(args.models) + 1)},
                             "shared": int(shared.sum()),
                             "shared_pairs": {f"{a}->{b}": n for (a, b), n in pairs.items()}})


if __name__ == "__main__":
    main()
