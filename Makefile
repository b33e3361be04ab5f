# Two commands do all set-up: `make run` (opens the demo take) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_PACKAGES := fluidsynth fluid-soundfont-gm musescore-general-soundfont timgm6mb-soundfont \
	csound-soundfont libportaudio2 libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
	libegl1 libgl1 libfontconfig1 libdbus-1-3 xvfb xauth

.PHONY: setup system run test lint bench clean

setup: system $(STAMP)

# System libraries: installed with apt only when one is missing.
system:
	@bash scripts/ensure_system_packages.sh $(APT_PACKAGES)

# torch is pinned first so pip takes the CPU build from local disk instead of a multi-GB CUDA build;
# pyproject keeps the looser torch>=2.4 for other machines.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: setup
	$(VENV)/bin/studio-tagger resources/demo/demo_take.flac

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check studio_tagger training tests benchmarks

bench: setup
	$(PY) benchmarks/analyze_speed.py

clean:
	rm -rf $(VENV) .pytest_cache
