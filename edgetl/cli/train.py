"""The train command (registered on the main app; imports nothing heavy until it runs)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer


class Task(str, Enum):
    classification = "classification"
    regression = "regression"


class Fit(str, Enum):
    resize = "resize"
    pad = "pad"


class DropoutMask(str, Enum):  # edgetl.model.DROPOUT_MASKS (not imported here: it imports numpy and the backbones)
    sample = "sample"
    batch = "batch"


class FeaturePrecision(str, Enum):  # edgetl.precision.PRECISIONS
    auto = "auto"
    float32 = "float32"
    bfloat16 = "bfloat16"


def register(app: typer.Typer, friendly, err) -> None:
    @app.command()
    @friendly
    def train(
        data: str = typer.Option("mnist-5k", help="mnist-5k (embedded), mnist, fashion-mnist, a .npz file, a .csv with filename and class (or value) columns, or an image folder."),
        out: Path = typer.Option(Path("runs/train"), help="Run directory to create."),
        task: Task = typer.Option(Task.classification, help="classification or regression (a .npz with x, y values)."),
        backbone: str = typer.Option("vgg16", help="vgg16, inceptionv3 (>= 75 px), mobilenetv2, efficientnetb0 or resnet50 (>= 32 px); each brings its own preprocessing, --feature-layer choices and default head."),
        weights: str = typer.Option("imagenet", help="imagenet (download), hed-bsds500 (packaged, offline), none, or a weights .h5 path."),
        input_size: Optional[int] = typer.Option(None, help="Side the backbone sees (at least the backbone's minimum: 32 px, 75 for inceptionv3). Default: 48 for images up to 32 px, else the image size (128 for folders and CSVs)."),
        fit: Fit = typer.Option(Fit.resize, help="How smaller images reach --input-size: resize (upsample) or pad."),
        feature_layer: Optional[str] = typer.Option(None, help="Cut the backbone after this layer (`edgetl inspect` lists them; a bad name lists the valid ones). Default: the backbone's output; for vgg16 block3_pool up to 64 px, else block5_pool."),
        units: Optional[int] = typer.Option(None, help="Dense units in the head; 0: linear head. Default: the backbone's own (inceptionv3 1024, mobilenetv2/efficientnetb0/resnet50 256); vgg16 0 up to 64 px, else 256."),
        dropout: float = typer.Option(0.3, help="Dropout before the head's output layer."),
        dropout_mask: Optional[DropoutMask] = typer.Option(None, help="sample: each image its own dropout mask (Keras's Dropout); batch: one mask for every image of a step, a 64th of the random numbers, which fits a large head faster. Default: batch for digit data (measured: as accurate, training 30% faster), else sample."),
        beside: Optional[str] = typer.Option(None, help="An earlier feature layer the head reads beside --feature-layer, max-pooled to its size (finer strokes beside coarser shapes); none: only the feature layer. Default: block2_pool for digits on vgg16 at block3_pool, else none."),
        epochs: int = typer.Option(40, help="Head epochs (early stopping on validation loss)."),
        lr: float = typer.Option(1e-3, help="Head learning rate (Adam)."),
        batch_size: int = typer.Option(64),
        freeze: Optional[int] = typer.Option(None, help="Keep the first N backbone layers frozen and fine-tune the rest after the head (VGG16 tutorials: 15 with the input layer, i.e. 14 here; a value too large says which freezes everything)."),
        fine_tune_epochs: int = typer.Option(8),
        fine_tune_lr: float = typer.Option(1e-5),
        augment: int = typer.Option(3, help="Randomly transformed copies of the training set, computed once through the frozen layers."),
        passes: Optional[int] = typer.Option(None, help="Fit the linear head on this many passes of other augmented copies and average their weights: a steadier head that reads other writers' digits better (bench/README.md), for that many frozen-feature passes. Default: 4 for digit data with a linear head, else 1."),
        val_split: Optional[float] = typer.Option(None, help="Stratified, shuffled validation fraction (when the data has no val split). Default: 0.03 for digit data with its own test split (mnist-5k: the test split is the held-out measure), else 0.1."),
        limit: Optional[int] = typer.Option(None, help="Train on a stratified subset of N samples."),
        desk: Optional[float] = typer.Option(None, min=0.0, max=5.0, help="Digit data: training digits written on generated desk pages (grid/ruled paper, coloured ink, dim light, tilt, blur) and cut out by the runtime's digit finder, as a fraction of the training set."),
        styles: Optional[float] = typer.Option(None, min=0.0, max=5.0, help="Digit data: synthetic digits in other writing styles, added as a fraction of the training set (0 turns it off; default: edgetl's measured choice)."),
        desk_calibration: Optional[int] = typer.Option(None, help="Digit data: desk crops of the training digits (written on generated desk pages, cut out by the runtime's finder) on which one bias per digit is set, so the model reads digits as a webcam over a desk shows them; 0 turns it off. Default: 5 per training digit, at most 10,000."),
        add: Optional[list[Path]] = typer.Option(None, help="A folder of more labelled images, one subfolder per class of --data (for digit data also 'not a digit'), trained on beside it: the crops `edgetl run --save-uncertain` kept, once sorted. Repeat for several folders."),
        reject: bool = typer.Option(True, "--reject/--no-reject", help="Digit data: learn a 'not a digit' class from generated clutter (grid crossings, line pieces, smudges), applied by edgetl run."),
        seed: int = typer.Option(0),
        overwrite: bool = typer.Option(False, help="Replace an existing run in --out."),
        x_col: Optional[str] = typer.Option(None, help="--data x.csv: the column of image files (default: filename, path, file, image or id)."),
        y_col: Optional[str] = typer.Option(None, help="--data x.csv: the column of classes (default: class, label or category) or, for regression, values (value, target, price or y)."),
        image_root: Optional[Path] = typer.Option(None, help="--data x.csv: the folder its file names are relative to (default: the CSV's own folder)."),
        features_on_ray: Optional[str] = typer.Option(None, help="Run the frozen layers over the images as Ray actors: alone, a local Ray; HOST:PORT, ray://HOST:10001 or auto joins a cluster ([scale] extra)."),
        distribute: Optional[str] = typer.Option(None, help="mirrored: train on every visible GPU with tf.distribute.MirroredStrategy (--batch-size per GPU)."),
        feature_precision: FeaturePrecision = typer.Option(FeaturePrecision.auto, help="The frozen layers' pass over the images: auto runs it in bfloat16 on a CPU that computes bfloat16 natively (AVX-512 BF16 or AMX: about twice as fast), else float32. The head is always fitted in float32."),
    ):
        """Fine-tune a pretrained backbone (frozen base, new head) on your images."""
        from edgetl.config import TrainConfig
        from edgetl.model import HeadConfig
        from edgetl.train import train as run_training

        config = TrainConfig(data=data, out=out, task=task.value, backbone=backbone, weights=weights,
                             input_size=input_size, fit=fit.value, feature_layer=feature_layer,
                             head=HeadConfig(units=units, dropout=dropout, beside=beside,
                                             dropout_mask=dropout_mask.value if dropout_mask else None),
                             epochs=epochs, lr=lr,
                             batch_size=batch_size, freeze=freeze, fine_tune_epochs=fine_tune_epochs,
                             fine_tune_lr=fine_tune_lr, augment=augment, passes=passes, val_split=val_split, limit=limit, reject=reject,
                             desk_calibration=desk_calibration,
                             add=tuple(add or ()),
                             **{k: v for k, v in (("styles", styles), ("desk", desk)) if v is not None},
                             seed=seed, overwrite=overwrite, distribute=distribute,
                             features_on_ray=features_on_ray, feature_precision=feature_precision.value,
                             csv_columns={k: str(v) for k, v in (("x_col", x_col), ("y_col", y_col),
                                                                 ("image_root", image_root)) if v} or None)
        run = run_training(config)
        metrics = json.loads((run / "metrics.json").read_text())
        for split in ("val", "test"):
            if split in metrics:
                err.print(f"{split}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                                      for k, v in metrics[split].items() if k in ("accuracy", "mae", "n")))
        typer.echo(str(run))
