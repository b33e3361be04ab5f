# Two commands do all set-up: `make run` (opens the demo take) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_PACKAGES := fluidsynth fluid-soundfont-gm musescore-general-soundfont timgm6mb-soundfont \
	csound-soundfont opl3-soundfont timidity freepats stk libportaudio2 libxcb-cursor0 libxkbcommon-x11-0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
	libegl1 libgl1 libfontconfig1 libdbus-1-3 xvfb xauth desktop-file-utils pulseaudio pulseaudio-utils \
	libasound2-plugins

.PHONY: setup system run test lint bench model evaluate clean

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

# The shipped model, from nothing: render the SoundFont training set, train, then fit the per-label
# calibration on 20 rendered tuning takes (seeds 100-104); about 50 min on 2 cores.
DATA ?= $(HOME)/.cache/studio-tagger
BANKS := FluidR3_GM,MuseScore_General,TimGM6mb,sf_GMbank
model: setup
	$(PY) -m training.synth --out $(DATA)/synth --banks $(BANKS) --clips-per-instrument 300 \
		--accompaniment-clips 600 --seed 0 --jobs 2
	$(PY) -m training.train --data synth --root $(DATA)/synth --train fluid,gm6 --val split:0.1 \
		--arch activity_cnn --objective multi --augment full \
		--augment-params '{"p_accompaniment_only": 0.25, "gain_db": [-48.0, 0.0]}' \
		--epochs 18 --batch-size 64 --lr 1e-3 --schedule cosine --seed 1 --device cpu --run-dir runs/activity-all \
		--name studio-tagger-activity-cnn --version 0.3.0 --jobs 2 --out resources/models/default.safetensors
	for bank in TimGM6mb sf_GMbank FluidR3_GM MuseScore_General; do \
		$(PY) -m training.takes --out $(DATA)/takes --bank $$bank --minutes 3 --seed 100 --count 5; done
	$(PY) -m training.calibrate --model resources/models/default.safetensors --takes $(DATA)/takes \
		--device cpu --write

# Reports for the shipped model: held-out rendered long takes of every bank (seeds 200-201, never used
# in training or calibration) and the demo take, the same takes written 24, 36 and 48 dB quieter; then
# banks it never heard: OPL3 FM takes and clips, FreePats takes and clips (recorded samples; evaluation only).
MODEL := resources/models/default.safetensors
evaluate: setup
	for bank in TimGM6mb sf_GMbank FluidR3_GM MuseScore_General; do \
		$(PY) -m training.takes --out $(DATA)/takes_eval --bank $$bank --minutes 3 --seed 200 --count 2; done
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_eval resources/demo --out reports/takes
	for peak in -25 -37 -49; do \
		for bank in TimGM6mb sf_GMbank FluidR3_GM MuseScore_General; do \
			$(PY) -m training.takes --out $(DATA)/takes_eval_peak$$peak --bank $$bank --minutes 3 --seed 200 \
				--count 2 --peak-db=$$peak; done; \
		$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_eval_peak$$peak \
			--out reports/takes-peak$$peak; done
	$(PY) -m training.takes --out $(DATA)/takes_opl3 --bank OPL3_FM --minutes 3 --seed 300 --count 4
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_opl3 --out reports/takes-opl3
	$(PY) -m training.synth --out $(DATA)/synth_opl3 --banks OPL3_FM --clips-per-instrument 300 \
		--accompaniment-clips 600 --seed 0 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_opl3 --in-memory \
		--out reports/clips-opl3
	$(PY) -m training.takes --out $(DATA)/takes_freepats --bank FreePats --minutes 3 --seed 400 --count 8
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_freepats --out reports/takes-freepats
	$(PY) -m training.synth --out $(DATA)/synth_freepats --banks FreePats --clips-per-instrument 150 \
		--accompaniment-clips 300 --seed 0 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_freepats --in-memory \
		--out reports/clips-freepats

clean:
	rm -rf $(VENV) .pytest_cache
