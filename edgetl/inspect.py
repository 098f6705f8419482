"""`edgetl inspect MODEL`: what a model is, without running it.

A run directory or .keras file: the card, then every layer with its type, output shape, parameters and
whether it trains (as model.summary() in the tutorials, plus the frozen/trainable split). An .onnx file:
the card from its metadata, the input/output contract, opset, operator counts, quantization and size.
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

from edgetl.runtime.card import METADATA_KEY, ModelCard
from edgetl.runtime.errors import UserError


def inspect_model(path: Path, trust_model: bool = False) -> dict:
    """A JSON-able description of ``path`` (run directory, .keras or .onnx)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory; pass a run directory, a .keras or an .onnx file")
    if path.suffix == ".onnx":
        return inspect_onnx(path)
    from edgetl.rundir import find_model, load_run

    model_path = find_model(path)[0]
    keras_model, card = load_run(path, trust_model)
    layers = [layer_row(layer) for layer in keras_model.layers]
    trainable = sum(row["trainable_params"] for row in layers)
    return {"path": str(path), "format": "keras", "bytes": model_path.stat().st_size,
            "card": dataclasses.asdict(card), "layers": layers,
            "params": {"total": sum(row["params"] for row in layers), "trainable": trainable}}


def layer_row(layer) -> dict:
    try:
        shape = list(layer.output.shape)
    except (AttributeError, ValueError):
        shape = None
    trainable = sum(int(_size(w.shape)) for w in layer.trainable_weights)  # not a Normalization's statistics
    return {"name": layer.name, "type": type(layer).__name__, "output_shape": shape,
            "params": int(layer.count_params()), "trainable_params": trainable, "trainable": trainable > 0}


def inspect_onnx(path: Path) -> dict:
    import onnx

    from edgetl.export.onnx_export import check_single_file

    check_single_file(path)  # refuses external data and invalid graphs before anything is read from it
    proto = onnx.load(str(path))
    metadata = {p.key: p.value for p in proto.metadata_props}
    card = dataclasses.asdict(ModelCard.from_json(metadata[METADATA_KEY], str(path))) if METADATA_KEY in metadata else None
    ops = Counter(node.op_type for node in proto.graph.node)
    weights = {onnx.TensorProto.DataType.Name(t.data_type).lower() for t in proto.graph.initializer}
    return {"path": str(path), "format": "onnx", "bytes": path.stat().st_size, "card": card,
            "opset": max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None),
            "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
            "inputs": [value_info(v) for v in proto.graph.input],
            "outputs": [value_info(v) for v in proto.graph.output],
            "operators": dict(ops.most_common()), "nodes": sum(ops.values()),
            "quantized": bool(ops.get("QuantizeLinear") or ops.get("QLinearConv")),
            "weight_types": sorted(weights),
            "params": sum(int(_size(t.dims)) for t in proto.graph.initializer)}


def _size(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def value_info(value) -> dict:
    import onnx

    tensor = value.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in tensor.shape.dim]
    return {"name": value.name, "type": onnx.TensorProto.DataType.Name(tensor.elem_type).lower(), "shape": dims}


def beside_note(card: dict) -> str:
    beside = ((card.get("training") or {}).get("head") or {}).get("beside")
    return f", {beside} read beside it" if beside else ""


def format_report(info: dict) -> str:
    """The description as plain text: card summary, then layers or operators."""
    lines = [f"{info['path']} ({info['format']}, {info['bytes'] / 1e6:.1f} MB)"]
    card = info.get("card")
    if card:
        lines.append(f"task {card['task']}, {len(card['class_names'])} classes, input {card['input_shape']} "
                     f"{card['input_dtype']} {card['color_order']}, backbone {card['backbone']} "
                     f"({card['weights']}) cut after {card['feature_layer']} at {card['backbone_input']}"
                     + beside_note(card))
        lines += contract_lines(card)
        if card.get("reject_class"):
            lines.append(f"reject class '{card['reject_class']}' at {card['reject_threshold']}")
        if card.get("pair_class"):
            lines.append(f"pair class '{card['pair_class']}': a blob read as two digits is cut")
        if card.get("quantization"):
            lines.append(f"quantization {card['quantization']}")
    else:
        lines.append("no edgetl model card in its metadata (not exported by edgetl)")
    if info["format"] == "keras":
        lines.append(f"{'layer':<28} {'type':<22} {'output shape':<22} {'params':>10}  trains")
        for row in info["layers"]:
            lines.append(f"{row['name']:<28} {row['type']:<22} {str(row['output_shape']):<22} "
                         f"{row['params']:>10,}  {'yes' if row['trainable'] else 'no'}")
        p = info["params"]
        lines.append(f"parameters {p['total']:,} ({p['trainable']:,} trainable, {p['total'] - p['trainable']:,} frozen)")
    else:
        for kind in ("inputs", "outputs"):
            lines += [f"{kind[:-1]} {v['name']}: {v['type']} {v['shape']}" for v in info[kind]]
        lines.append(f"opset {info['opset']}, {info['nodes']} nodes, {info['params']:,} weights "
                     f"({', '.join(info['weight_types'])}), quantized: {'yes' if info['quantized'] else 'no'}")
        lines.append("operators " + ", ".join(f"{op} {n}" for op, n in info["operators"].items()))
    return "\n".join(lines)


def contract_lines(card: dict) -> list[str]:
    """The card's resize (what the runtime does to an image) and preprocess (what the graph does after)."""
    r, h, w = card["resize"], *card["input_shape"][:2]
    lines = [f"resize (runtime, card format {card['format']}): {r['fit']} to {h}x{w}, {r['shrink']} interpolation "
             f"when shrinking, {r['enlarge']} when enlarging"]
    pre = card.get("preprocess")
    if not pre:
        return lines + ["preprocess (in the graph): not recorded in this card"]
    steps = ["float"]
    if pre["to_backbone"] != "none":
        steps.append(f"{'bilinear resize' if pre['to_backbone'] == 'bilinear' else 'zero padding'} to "
                     f"{'x'.join(map(str, card['backbone_input']))}")
    if card["input_shape"][2] == 1:
        steps.append("gray to 3 channels")
    steps.append(f"{pre['mode']}: (x - {_numbers(pre['mean'])}) / {_numbers(pre['std'])} per BGR channel")
    colour = "RGB (first conv reordered in the graph)" if pre["color"] == "rgb" else "BGR"
    return lines + [f"preprocess (in the graph): {', '.join(steps)}; weights made for {colour}"]


def _numbers(values) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def to_json(info: dict) -> str:
    return json.dumps(info, indent=2)
