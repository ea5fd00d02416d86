# faceinpaint — two commands on a fresh machine:  `make study`  and  `make test`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.faceinpaint-installed
PROFILE ?= smoke
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: setup test study study-force clean-study benchmark lint

setup: $(STAMP)

# Idempotent: re-runs only when pyproject.toml or this Makefile changed.
# torch goes in first, pinned, so that no later requirement lets pip resolve a different build.
$(STAMP): pyproject.toml Makefile
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip setuptools wheel
	$(VPY) -m pip install $(TORCH_PINS)
	$(VPY) -m pip install -e ".[dev,identity]" $(TORCH_PINS)
	$(VPY) -c "import torch, faceinpaint_core; print('faceinpaint ready, torch', torch.__version__)"
	touch $(STAMP)

test: setup
	$(VPY) -m pytest -q -x --durations=10

study: setup
	$(VENV)/bin/faceinpaint study --profile $(PROFILE)

study-force: setup
	$(VENV)/bin/faceinpaint study --profile $(PROFILE) --force

benchmark: setup
	$(VPY) benchmarks/bench_metrics.py
