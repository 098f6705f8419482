"""Rich progress bars for feature extraction and epochs."""
from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console)


def epoch_callback(keras, description: str, epochs: int):
    """A Keras callback that shows epochs as one rich bar with the latest metrics."""

    class RichEpochs(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress()
            self.bar.start()
            self.task = self.bar.add_task(description, total=epochs, info="")

        def on_epoch_end(self, epoch, logs=None):
            short = {"accuracy": "acc", "val_accuracy": "val_acc"}
            info = " ".join(f"{short.get(k, k)} {v:.3f}" for k, v in (logs or {}).items() if k != "learning_rate")
            self.bar.update(self.task, advance=1, info=info)

        def on_train_end(self, logs=None):
            self.bar.stop()

    return RichEpochs()
