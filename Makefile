# The two commands of the README: `make demo` (main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_PIN := torch==2.13.0

.PHONY: install demo lint test bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch is pinned here only (setup.cfg declares a range): 2.13.0 has a CPU wheel on this machine.
	$(PIP) install $(TORCH_PIN)
	$(PIP) install -e ".[test,notebook,distributed]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/kansr discover kansr/datasets/example.csv --target "E [J]" --units noise_col=1 --out demo_out

# ruff over the whole tree; mypy over the public API (each package's face and the front doors).
PUBLIC_API := kansr/__init__.py kansr/errors.py kansr/nn/__init__.py kansr/train/__init__.py \
	kansr/symbolic/__init__.py kansr/discovery/__init__.py kansr/_validation.py kansr/_fileio.py \
	kansr/_metrics.py kansr/_resources.py kansr/estimator.py

lint: install
	$(VENV)/bin/ruff check kansr tests benchmarks feynman_data tutorials
	$(PY) -m mypy $(PUBLIC_API)

test: install lint
	$(PY) -m pytest -n 2 tests

bench: install
	$(PY) benchmarks/bench_training.py

clean:
	rm -rf $(VENV) demo_out build *.egg-info
