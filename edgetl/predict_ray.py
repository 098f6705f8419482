"""`edgetl predict --ray [ADDRESS]`: the same rows on Ray Data.

Paths are read as a Ray dataset and streamed through a pool of actors, each holding one onnxruntime session
(threads per actor = the CPUs Ray gives it, so actors never oversubscribe a core), decoding its own images;
the actors' rows are written as Parquet shards to a staging folder beside the output and gathered there.
The model travels through Ray's object store (workers need no copy of it); the images are read by the
workers, so on a cluster they must sit at the same path on every node (shared or object storage mounted).
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from edgetl.ray_session import import_ray, start

log = logging.getLogger(__name__)
RAY_BATCH = 512  # images per actor call: Ray Data's per-batch overhead spread thin (onnxruntime gets --batch)


class RowMaker:
    """One Ray actor: an onnxruntime session over the batches of paths it is handed."""

    def __init__(self, model_bytes, top_k: int, sha: str, threads: int, batch: int):
        import tempfile

        import ray

        from edgetl.runtime.model import Model

        if isinstance(model_bytes, ray.ObjectRef):  # Ray Data hands constructor arguments over as they are
            model_bytes = ray.get(model_bytes)
        folder = tempfile.mkdtemp(prefix="edgetl-actor-")
        path = Path(folder) / "model.onnx"
        path.write_bytes(model_bytes)
        self.model, self.top_k, self.sha, self.batch = Model(path, device="cpu", threads=threads), top_k, sha, batch

    def __call__(self, batch):
        import pyarrow as pa

        from edgetl.predict import read_images, rows_for
        from edgetl.predict_output import schema

        paths = [str(p) for p in batch.column("path").to_pylist()]
        rows = []
        for i in range(0, len(paths), self.batch):
            chunk = paths[i:i + self.batch]
            rows += rows_for(self.model, chunk, read_images(chunk), self.top_k, self.sha)
        return pa.Table.from_pylist(rows, schema=schema())


def predict_on_ray(model_path: Path, todo: list[str], options, sha: str, out: Path) -> list[dict]:
    ray = import_ray()
    from edgetl.predict_output import pyarrow
    from edgetl.runtime._io import make_temp_dir

    pq = pyarrow().parquet
    started_here = start(ray, options.ray)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = options.workers or max(1, cpus)
        threads = max(1, cpus // workers)
        log.info("ray: %d actor(s) x %d onnxruntime thread(s) on %d CPU(s)", workers, threads, cpus)
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        shards = make_temp_dir(out)  # beside the output: same disk, cleaned up like every edgetl temp
        try:
            # a few large blocks per actor: Ray Data's per-block work stays small beside the images' own
            blocks = max(1, min(len(todo) // RAY_BATCH, 4 * workers))
            dataset = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=blocks)
            rows = dataset.map_batches(RowMaker, fn_constructor_args=(ray.put(model_path.read_bytes()),
                                                                      options.top_k, sha, threads, options.batch),
                                       batch_size=max(options.batch, RAY_BATCH), batch_format="pyarrow",
                                       concurrency=workers,
                                       num_cpus=threads)
            rows.write_parquet(str(shards))
            return pq.read_table(str(shards)).to_pylist()
        finally:
            shutil.rmtree(shards, ignore_errors=True)
    finally:
        if started_here:
            ray.shutdown()
