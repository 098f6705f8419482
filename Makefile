# make demo: set up, then the flagship pipeline offline (train on MNIST digits, export int8, read a clip).
# make test: set up, then the whole test suite (slow end-to-end tests included).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO := runs/demo

.PHONY: demo test bench clean

$(BIN)/edgetl: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[train,dev,bench,scale]'
	touch $@

test: $(BIN)/edgetl
	$(BIN)/python -m pytest -q

demo: $(BIN)/edgetl
	$(BIN)/edgetl train --data mnist-5k --weights hed-bsds500 --out $(DEMO) --overwrite
	$(BIN)/edgetl evaluate $(DEMO) --data mnist-5k
	$(BIN)/edgetl export $(DEMO) --quantize int8
	$(BIN)/python bench/clip_accuracy.py --model $(DEMO)/model.int8.onnx --clip runs/clips/digits.mp4 --save runs/clips/demo_annotated.mp4

bench: $(BIN)/edgetl
	$(BIN)/python bench/train_mnist.py
	$(BIN)/python bench/export_speed.py
	$(BIN)/python bench/clip_accuracy.py --model runs/bench/model.int8.onnx --clip runs/clips/digits.mp4
	$(BIN)/python bench/runtime_speed.py --model runs/bench/model.int8.onnx --clip runs/clips/digits.mp4
	$(BIN)/python bench/clip_accuracy.py --model runs/bench/model.int8.onnx --clip runs/clips/desk-seed11.mp4 --hard --seed 11
	$(BIN)/python bench/clip_accuracy.py --model runs/bench/model.int8.onnx --clip runs/clips/desk-seed12.mp4 --hard --seed 12
	$(BIN)/python bench/clip_accuracy.py --model runs/bench/model.int8.onnx --clip runs/clips/desk-seed13.mp4 --hard --seed 13
	$(BIN)/python bench/clip_accuracy.py --model runs/bench/model.int8.onnx --clip runs/clips/desk-seed14.mp4 --hard --seed 14
	$(BIN)/python bench/runtime_speed.py --model runs/bench/model.int8.onnx --clip runs/clips/desk-seed11.mp4
	$(BIN)/python bench/writers.py --model runs/bench/model.int8.onnx --report

clean:
	rm -rf $(VENV) runs
