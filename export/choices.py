"""The export choices, one table each: the CLI builds its options from these and the code checks against them."""

QUANTIZE_MODES = ("int8", "fp16")  # --quantize: static int8 (QDQ, per-channel) or fp16 for GPUs
CALIB_METHODS = ("minmax", "entropy", "percentile")  # --calib-method: how int8 activation ranges are estimated
