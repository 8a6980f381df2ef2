# The two commands of the README: `make demo` (main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_PIN := torch==2.13.0

.PHONY: install demo test bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch is pinned here only (setup.cfg declares a range): 2.13.0 has a CPU wheel on this machine.
	$(PIP) install $(TORCH_PIN)
	$(PIP) install -e ".[test,notebook,distributed]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/kansr discover kansr/datasets/example.csv --target "E [J]" --out demo_out

test: install
	$(PY) -m pytest -n 2 tests

bench: install
	$(PY) benchmarks/bench_training.py

clean:
	rm -rf $(VENV) demo_out build *.egg-info
