# faceinpaint — two commands on a fresh machine:  `make study`  and  `make test`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.faceinpaint-installed
PROFILE ?= smoke
JOBS    ?= 2   # workflow jobs at once (each gets cores/JOBS threads)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
PIP_PIN := pip==26.3
# requirements.lock: every dependency except the torch stack, exact versions + sha256 hashes (uv pip compile).
LOCK    := requirements.lock
LOCK_PY := 3.11
LOCK_PLATFORM := x86_64-manylinux_2_28
LOCK_TOOL := uv==0.13.9
LOCK_VENV := .venv-lock
# Installed by `pip install $(TORCH_PINS)` (torch pins its CUDA wheels exactly), so kept out of the lock.
TORCH_STACK := torch torchvision triton cuda-bindings cuda-pathfinder cuda-toolkit nvidia-cublas \
	nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile \
	nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink \
	nvidia-nvshmem-cu13 nvidia-nvtx

.PHONY: setup browser lock test study study-force clean-study benchmark lint

setup: $(STAMP)

# Idempotent: re-runs only when the lock, pyproject.toml or this Makefile changed.
# torch goes in first, pinned; then the lock with --no-deps --require-hashes (nothing else is resolved,
# so torch cannot change); then the package itself without dependencies; `pip check` proves consistency.
$(STAMP): $(LOCK) pyproject.toml Makefile
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install $(PIP_PIN)
	$(VPY) -m pip install $(TORCH_PINS)
	$(VPY) -m pip install --no-deps --require-hashes -r $(LOCK)
	$(VPY) -m pip install --no-deps --no-build-isolation -e .
	$(VPY) -m pip check
	$(VPY) -c "import torch, faceinpaint_core; print('faceinpaint ready, torch', torch.__version__)"
	touch $(STAMP)

# Refresh the lock (needs the package registry) and rewrite environment.yml's pins from it.
lock:
	test -x $(LOCK_VENV)/bin/uv || ($(PY) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install $(LOCK_TOOL))
	printf '%s\n' $(TORCH_PINS) > $(LOCK_VENV)/torch-pins.txt
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra dev --extra identity \
		--constraint $(LOCK_VENV)/torch-pins.txt --python-version $(LOCK_PY) --python-platform $(LOCK_PLATFORM) \
		$(addprefix --no-emit-package ,$(TORCH_STACK)) --generate-hashes \
		--custom-compile-command "make lock" -o $(LOCK)
	$(PY) tools/sync_environment.py $(LOCK) environment.yml $(LOCK_PY) $(TORCH_PINS)

# The browser tests (app, user study) need headless Chromium: installed here on Debian when run as root (CI);
# elsewhere they are skipped with the reason shown.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "make: chromium + chromedriver missing and not installable here (needs root on Debian): browser tests will be skipped"; fi

test: setup browser
	$(VPY) -m pytest -q -x --durations=10

study: setup
	$(VENV)/bin/faceinpaint study --profile $(PROFILE) --jobs $(JOBS)

study-force: setup
	$(VENV)/bin/faceinpaint study --profile $(PROFILE) --jobs $(JOBS) --force

benchmark: setup
	$(VPY) benchmarks/bench_metrics.py
