"""How far the digit classifier moves with the linear head's own seed, on one frozen-feature pass.

    python bench/head_spread.py                          # make bench's training, data seed 0, 4 head seeds
    python bench/head_spread.py --seed 1 --heads 6
    python bench/head_spread.py --set styles=0.5 --set augment=6   # a training variant, same measures
    python bench/head_spread.py --passes 4 --heads 3     # each head averaged over 1, 2, 3 and 4 passes

One pass of ``edgetl train --data mnist-5k --weights hed-bsds500``'s training set (with its styled digits,
"not a digit" crops and augmented copies) through the frozen backbone, then the head fitted ``--heads`` times
exactly as ``edgetl train`` fits it (``edgetl.fitting.fit_on_features``), each from its own seed, and read on:
other writers' digits (bench/writers.py, TUNE half), mnist-5k's held-out test, and the crops the runtime's
finder cuts from the desk tune clips (wide-200 / wide-201, matched to a written digit with IoU >= 0.6; render
them with ``python bench/render_clips.py``). A variant beats the defaults only by more than this spread.

``--passes N``: N - 1 more passes over the same split with other augmented copies (as ``edgetl train --passes N``
draws them), each head seed fitted on every pass, and the weights of its heads on the first m passes averaged
into one linear head as ``edgetl train --passes m`` does, read for every m from 1 to N.

Every feature here is float32, the sets read included: ``edgetl train`` on a CPU with native bfloat16 computes its
training features in bfloat16 (edgetl/precision.py, ``--feature-precision float32`` to match this script).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine, save  # noqa: E402
from writers import reported_digits, writer_digits  # noqa: E402
from edgetl.config import MAX_PASSES  # noqa: E402

DESK_CLIPS = ("wide-200", "wide-201")  # tune clips only: the report clips stay unread
MATCH_IOU = 0.6


def desk_crops(clips) -> tuple[np.ndarray, np.ndarray]:
    """(crops, labels): the finder's crop of every written digit it boxed well, from each clip's frames."""
    import cv2

    from edgetl.runtime.digits import digit_candidates
    from edgetl.runtime.tracking import iou

    xs, ys = [], []
    for clip in clips:
        truth = json.loads(clip.with_suffix(".json").read_text())
        cap = cv2.VideoCapture(str(clip))
        for frame_truth in truth:
            ok, frame = cap.read()
            if not ok:
                break
            boxes, crops, _ = digit_candidates(frame)
            for box, label in zip(frame_truth["boxes"], frame_truth["labels"]):
                best = max(range(len(boxes)), key=lambda i: iou(box, boxes[i]), default=None)
                if best is not None and iou(box, boxes[best]) >= MATCH_IOU:
                    xs.append(crops[best])
                    ys.append(label)
    return np.stack(xs)[..., None], np.asarray(ys)


def number_or_text(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def parse_sets(pairs: list[str]) -> dict:
    """TrainConfig fields from FIELD=VALUE pairs; head.FIELD=VALUE sets a field of its head (HeadConfig)."""
    from edgetl.config import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    head_fields = {f.name for f in dataclasses.fields(TrainConfig().head)}
    out, head = {}, {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        name = key.removeprefix("head.")
        if not value or (name not in head_fields if key.startswith("head.") else key not in fields):
            raise SystemExit(f"--set {pair}: expected FIELD=VALUE with a TrainConfig field (e.g. styles=0.5) or "
                             "head.FIELD=VALUE with a head field (e.g. head.dropout=0.1)")
        into, default = (head, getattr(TrainConfig().head, name)) if key.startswith("head.") else \
            (out, getattr(TrainConfig(), key))
        into[name] = value.lower() in ("1", "true", "yes") if isinstance(default, bool) else \
            number_or_text(value) if default is None else type(default)(value)
    if head:
        out["head"] = dataclasses.replace(TrainConfig().head, **head)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="training seed: split, styled digits, augmented copies")
    parser.add_argument("--heads", type=int, default=4, help="head seeds fitted on the one feature pass")
    parser.add_argument("--passes", type=int, choices=range(1, MAX_PASSES + 1), default=1,
                        help="N: each head also averaged with its heads on up to N - 1 more passes")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a TrainConfig field")
    args = parser.parse_args()
    clips = [CLIPS / f"{name}.mp4" for name in DESK_CLIPS]
    if missing := [str(c) for c in clips if not c.exists()]:
        raise SystemExit(f"{', '.join(missing)}: not rendered; run python bench/render_clips.py first")

    from edgetl._deps import import_keras
    from edgetl.backbones import get_backbone
    from edgetl.config import TrainConfig, resolve_feature_layer, resolve_head, resolve_input_size
    from edgetl.data import load_dataset
    from edgetl.features import extract
    from edgetl.model import build_chain
    from edgetl.runtime.card import ModelCard
    from edgetl.fitting import PASS_SEED, adapt_feature_norm, fit_on_features, norm_sample
    from edgetl.train import extend_digits, split_data

    config = TrainConfig(data="mnist-5k", weights="hed-bsds500", seed=args.seed, **parse_sets(args.set))
    dataset = load_dataset(config.data, config.task, config.input_size, config.csv_columns)
    train_set, val_set, class_names = extend_digits(*split_data(dataset, config), dataset, config)
    input_size = resolve_input_size(config, dataset.image_shape)
    feature_layer = resolve_feature_layer(config, input_size)
    backbone = get_backbone(config.backbone)
    head = resolve_head(config, dataset.digits, input_size, feature_layer)
    keras = import_keras()

    def chain():
        return build_chain(keras, dataset.image_shape, backbone, config.weights, input_size, config.fit,
                           feature_layer, len(class_names), config.task, head)

    first = chain()
    cut = first.cut_after_frozen(first.n_backbone)
    first.set_trainable_from(cut)
    prefix = first.prefix(cut)
    wx, wy, half = writer_digits(0)
    dx, dy = desk_crops(clips)
    truth = {"writers": wy[half == 0], "test": dataset.split("test")[1], "desk": dy}
    feats = extract(prefix, {"train": train_set[0], "val": val_set[0], "writers": wx[half == 0],
                             "test": dataset.split("test")[0], "desk": dx}, {"train": config.augment}, config.seed)
    reject = "not a digit" if "not a digit" in class_names else None
    card = SimpleNamespace(class_names=class_names, reject_class=reject,
                           reject_threshold=ModelCard.__dataclass_fields__["reject_threshold"].default)
    norm_on = norm_sample(feats["train"])  # every pass's heads scale features alike, as fit_head does
    passes = [feats]  # later passes: the images' own rows kept, only the augmented copies drawn again
    for p in range(1, args.passes):
        redrawn = extract(prefix, {"train": train_set[0]}, {"train": config.augment}, config.seed + p * PASS_SEED,
                          redraw={"train": np.array(feats["train"])})
        passes.append(dict(feats, train=redrawn["train"]))

    def fitted(k, features):
        keras.utils.set_random_seed(1000 * config.seed + k)
        suffix = chain().suffix(cut, prefix.output_shape[1:])
        adapt_feature_norm(suffix.layers[1], norm_on, first.feature_parts)
        fit_on_features(keras, suffix, features, train_set[1], val_set[1], config, f"head {k}", config.lr,
                        config.epochs)
        return suffix

    def scores(suffix) -> dict:
        out = {}
        for name, y in truth.items():
            out[name] = float((reported_digits(card, suffix.predict(feats[name], batch_size=512, verbose=0)) == y).mean())
        return out

    rows = []  # rows[k][m - 1]: head seed k averaged over the first m passes
    for k in range(args.heads):
        suffix = fitted(k, passes[0])
        heads = [suffix.get_weights()] + [fitted(k, features).get_weights() for features in passes[1:]]
        rows.append([])
        for m in range(1, args.passes + 1):
            suffix.set_weights([np.mean(values, axis=0) for values in zip(*heads[:m])])
            rows[k].append(scores(suffix))
            print(f"head {k}, {m} pass(es): " + "  ".join(f"{n} {rows[k][-1][n]:.2%}" for n in truth), flush=True)
    print(f"\n### head seeds on one feature pass ({machine()}; data seed {config.seed}; sets {args.set or 'none'})\n")
    print("| passes | measure | " + " | ".join(f"head {k}" for k in range(args.heads)) + " | mean ± sd |")
    print("|---|---|" + "---|" * (args.heads + 1))
    summary = []
    for m in range(args.passes):
        summary.append({n: (float(np.mean([r[m][n] for r in rows])), float(np.std([r[m][n] for r in rows])))
                        for n in truth})
        for name, label in (("writers", f"writers TUNE (n={len(truth['writers'])})"),
                            ("test", f"mnist-5k test (n={len(truth['test'])})"),
                            ("desk", f"desk crops (n={len(dy)})")):
            print(f"| {m + 1} | {label} | " + " | ".join(f"{r[m][name]:.2%}" for r in rows)
                  + f" | {summary[m][name][0]:.2%} ± {summary[m][name][1]:.2%} |")
    save(f"head_spread-seed{config.seed}-passes{args.passes}", {"sets": args.set, "rows": rows, "summary": summary})


if __name__ == "__main__":
    main()
