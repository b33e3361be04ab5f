"""The synthetic data generator: phrases in range, SoundFont presets, rendered clips in Medley layout."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.labels import LABELS
from training.medley import COLUMNS, METADATA, NOT_A_LABEL, read_metadata
from training.phrases import (
    ACCOMPANIMENT_STYLES,
    LABEL_STYLES,
    PITCHWHEEL,
    TEXTURE_VARIANTS,
    Control,
    Note,
    Phrase,
    random_phrase,
    retime,
)
from training.render import Part, Placement, frame_rms, render
from training.soundfonts import DRUM_BANK, SOUNDFONTS, get_soundfont, read_presets, style_programs
from training.synth import ACCOMPANIMENT_DIR, CLIP_SAMPLES, Job, plan, render_job, synthesize

TIM = get_soundfont("TimGM6mb")
needs_tim = pytest.mark.skipif(not TIM.path.exists(), reason="TimGM6mb SoundFont not installed")
FREEPATS = get_soundfont("FreePats")
needs_freepats = pytest.mark.skipif(not (FREEPATS.path.exists() and shutil.which("timidity")),
                                    reason="timidity and freepats not installed")
SONIVOX = get_soundfont("Sonivox")
needs_sonivox = pytest.mark.skipif(not SONIVOX.path.exists(), reason="libsonivox3 not installed")


@pytest.mark.parametrize("style", [*LABEL_STYLES.values(), *ACCOMPANIMENT_STYLES.values()], ids=lambda s: s.name)
def test_phrases_stay_in_the_instruments_range(style) -> None:
    rng = np.random.default_rng(11)
    pitches = []
    for _ in range(40):
        phrase = random_phrase(style, rng)
        assert phrase.notes, "a phrase must play something"
        assert all(0 <= n.start < n.end for n in phrase.notes)
        assert all(1 <= n.velocity <= 127 for n in phrase.notes)
        for c in phrase.controls:
            assert -8192 <= c.value <= 8191 if c.number == PITCHWHEEL else 0 <= c.value <= 127
        pitches += [n.pitch for n in phrase.notes]
    assert style.low <= min(pitches) and max(pitches) <= style.high
    if not style.drums:  # phrases wander over the range rather than sitting in one spot
        assert max(pitches) - min(pitches) >= 0.6 * (style.high - style.low)


def test_expressive_habits_show_up_in_the_midi() -> None:
    rng = np.random.default_rng(5)
    singer = [random_phrase(LABEL_STYLES["female singer"], rng) for _ in range(20)]
    assert sum(any(c.number == PITCHWHEEL and c.value != 0 for c in p.controls) for p in singer) >= 10
    piano = [random_phrase(LABEL_STYLES["piano"], rng) for _ in range(10)]
    assert all(not any(c.number == PITCHWHEEL for c in p.controls) for p in piano)
    chords = sum(len({n.start for n in p.notes}) < len(p.notes) for p in piano)
    assert chords == len(piano), "piano phrases play several notes at once"


@needs_tim
def test_preset_list_is_read_from_the_soundfont() -> None:
    presets = read_presets(TIM.path)
    assert all((0, p) in presets for p in (0, 29, 30, 40, 52, 56, 66, 71, 73))
    assert (DRUM_BANK, 0) in presets
    assert "clarinet" in presets[(0, 71)].lower()


@needs_tim
def test_plan_splits_clips_over_programs_and_chunks() -> None:
    jobs = plan(["TimGM6mb"], 150, 24, seed=0)
    for label in LABELS:
        mine = [j for j in jobs if j.instrument == label]
        assert sum(j.clips for j in mine) == 150
        assert all(j.clips <= 64 for j in mine)
    assert {j.program for j in jobs if j.instrument == "piano"} == {0, 1, 2}
    assert sum(j.clips for j in jobs if j.label_id == NOT_A_LABEL) == 24


@needs_tim
def test_dataset_layout_clips_and_rerun(tmp_path: Path) -> None:
    jobs = plan(["TimGM6mb"], 2, 3, seed=0)
    records, failed = synthesize(tmp_path, jobs, workers=2)
    assert not failed
    header = (tmp_path / METADATA).read_text().splitlines()[0].split(",")
    assert header[:5] == list(COLUMNS)
    solos = read_metadata(tmp_path)
    accompaniment = read_metadata(tmp_path / ACCOMPANIMENT_DIR)
    assert len(solos) == 2 * len(LABELS) and len(accompaniment) == 3
    assert sorted(r.label for r in solos) == sorted(LABELS * 2)
    assert all(r.label_id == NOT_A_LABEL and r.label not in LABELS for r in accompaniment)
    for r in solos + accompaniment:
        assert r.subset == "TimGM6mb" and r.extra["family"] == "gm6"
        assert re.fullmatch(rf"Medley-solos-DB_TimGM6mb-{r.label_id}_[0-9a-f-]{{36}}\.wav", r.path.name)
        info = sf.info(r.path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 1, CLIP_SAMPLES, "PCM_16")
        audio, _ = sf.read(r.path, dtype="float32")
        env = frame_rms(audio)
        assert env.max() > 0.02 and np.mean(env > env.max() * 0.03) >= 0.6, f"{r.path.name} is mostly silent"
    stamps = {r.path: r.path.stat().st_mtime_ns for r in solos}
    again, failed = synthesize(tmp_path, jobs, workers=1)
    assert not failed and [r.uuid for r in again] == [r.uuid for r in records]
    assert all(r.path.stat().st_mtime_ns == stamps[r.path] for r in solos), "a finished job was redone"
    # Another bank rendered later into the same folder adds its rows and keeps the first bank's.
    synthesize(tmp_path, plan(["sf_GMbank"], 1, 0, seed=0), workers=2)
    both = read_metadata(tmp_path)
    assert [r for r in both if r.subset == "TimGM6mb"] == solos
    assert sorted(r.label for r in both if r.subset == "sf_GMbank") == sorted(LABELS)
    assert len(read_metadata(tmp_path / ACCOMPANIMENT_DIR)) == 3


@needs_tim
def test_same_seed_same_audio_other_seed_other_audio(tmp_path: Path) -> None:
    job = Job("TimGM6mb", "violin", 40, 0, 3, seed=7)
    first = render_job(job, tmp_path / "a")
    second = render_job(job, tmp_path / "b")
    assert [r.uuid for r in first] == [r.uuid for r in second]
    for r1, r2 in zip(first, second, strict=True):
        assert r1.path.read_bytes() == r2.path.read_bytes()
    other = render_job(Job("TimGM6mb", "violin", 40, 0, 3, seed=8), tmp_path / "c")
    assert sf.read(other[0].path)[0].tolist() != sf.read(first[0].path)[0].tolist()


def test_retime_plays_faster_and_higher() -> None:
    phrase = Phrase((Note(0.0, 1.0, 60, 90), Note(1.0, 2.5, 126, 80)), (Control(0.5, PITCHWHEEL, 300),))
    out = retime(phrase, 2.0, 2)
    assert [(n.start, n.end, n.pitch, n.velocity) for n in out.notes] == [(0.0, 0.5, 62, 90)]  # 128 dropped
    assert [(c.time, c.value) for c in out.controls] == [(0.25, 300)]
    assert retime(phrase, 1.0) == phrase


def _fundamental_and_centroid(audio: np.ndarray) -> tuple[float, float]:
    seg = audio[int(0.3 * 44100): int(0.3 * 44100) + 32768]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1 / 44100)
    band = (freqs > 300) & (freqs < 600)  # the note is A4: its fundamental is the peak in this band
    return float(freqs[band][spec[band].argmax()]), float((spec * freqs).sum() / spec.sum())


@needs_tim
def test_timbre_shift_keeps_pitch_and_length_and_moves_the_spectrum() -> None:
    note = Phrase((Note(0.0, 1.5, 69, 100),), ())
    plain = render([Part(56, (Placement(0.1, note),))], TIM, 2.0)
    f0, centroid = _fundamental_and_centroid(plain)
    assert abs(f0 - 440) < 3
    for shift in (-4, 4):
        shifted = render([Part(56, (Placement(0.1, note),))], TIM, 2.0, shift=shift)
        assert len(shifted) == len(plain)
        f0_s, centroid_s = _fundamental_and_centroid(shifted)
        assert abs(f0_s - 440) < 3, f"shift {shift} moved the pitch to {f0_s:.1f} Hz"
        # The envelope moves down for a positive shift (played higher, slowed down), up for a negative one.
        ratio = centroid_s / centroid
        assert (ratio < 0.93) if shift > 0 else (ratio > 1.07), f"shift {shift}: centroid ratio {ratio:.2f}"
        onset = np.flatnonzero(np.abs(shifted) > 0.05 * np.abs(shifted).max())[0] / 44100
        assert abs(onset - 0.1) < 0.03, "the note starts where it was placed"


@needs_tim
def test_shifted_renders_are_subsets_of_their_own(tmp_path: Path) -> None:
    jobs = plan(["TimGM6mb"], 1, 0, seed=0, shifts=(0, 3))
    assert {j.subset for j in jobs} == {"TimGM6mb", "TimGM6mb+3"}
    _, failed = synthesize(tmp_path, jobs, workers=2)
    assert not failed
    rows = read_metadata(tmp_path)
    assert sorted(r.subset for r in rows) == sorted(["TimGM6mb", "TimGM6mb+3"] * len(LABELS))
    assert all(r.extra["family"] == "gm6" for r in rows), "a shifted bank stays in its family"
    shifted = [r for r in rows if r.subset == "TimGM6mb+3"]
    assert all(r.path.name.startswith(f"Medley-solos-DB_TimGM6mb+3-{r.label_id}_") for r in shifted)
    assert len({r.song_id for r in rows}) == len(rows), "song ids stay unique across shifts"
    # Rendering the bank unshifted again keeps the shifted rows.
    synthesize(tmp_path, plan(["TimGM6mb"], 1, 0, seed=0), workers=1)
    assert sorted(r.uuid for r in read_metadata(tmp_path)) == sorted(r.uuid for r in rows)


@pytest.mark.parametrize("bank", list(SOUNDFONTS.values()), ids=lambda b: b.name)
def test_every_bank_plays_every_label(bank) -> None:
    if not bank.path.exists():
        pytest.skip(f"{bank.path} not installed")
    for style in LABEL_STYLES.values():
        assert style_programs(style, bank), f"{bank.name} has no program for {style.name}"


def test_timidity_configuration_lists_its_programs_and_kits(tmp_path: Path) -> None:
    cfg = tmp_path / "bank.cfg"
    cfg.write_text("# a comment\ndir /somewhere\n\ndrumset 0\n 35\tDrum_000/035_Kick.pat amp=100\n"
                   "bank 0\n\n 0\tTone_000/000_Piano.pat amp=120 pan=center\n 73\tTone_000/073_Flute.pat # soft\n")
    assert read_presets(cfg) == {(DRUM_BANK, 0): "drumset 0", (0, 0): "000_Piano", (0, 73): "073_Flute"}


def _a4_placed_at_a_quarter_second(bank, program: int) -> tuple[np.ndarray, float]:
    """A 1.5 s A4 of ``program`` placed at 0.25 s in 2 s of the bank: the audio, checked to start where the
    note was placed and to sound at 440 Hz, and its spectral centroid."""
    note = Phrase((Note(0.0, 1.5, 69, 100),), ())
    audio = render([Part(program, (Placement(0.25, note),))], bank, 2.0)
    assert len(audio) == 2 * 44100 and audio.dtype == np.float32
    onset = np.flatnonzero(np.abs(audio) > 0.05 * np.abs(audio).max())[0] / 44100
    assert abs(onset - 0.25) < 0.05, f"note placed at 0.25 s sounds from {onset:.3f} s"
    f0, centroid = _fundamental_and_centroid(audio)
    assert abs(f0 - 440) < 4
    return audio, centroid


@needs_freepats
def test_freepats_renders_a_note_at_its_time_and_pitch() -> None:
    # TiMidity drops leading silence unless told not to: the note must start where it was placed.
    _a4_placed_at_a_quarter_second(FREEPATS, 73)


@needs_sonivox
def test_sonivox_renders_a_note_at_its_time_and_pitch_and_each_program_its_own_way() -> None:
    flute, flute_centroid = _a4_placed_at_a_quarter_second(SONIVOX, 73)
    assert 0.01 < np.abs(flute).max() < 1.0  # scaled to about the other banks' level, not clipped
    _, trumpet_centroid = _a4_placed_at_a_quarter_second(SONIVOX, 56)
    assert trumpet_centroid > 1.3 * flute_centroid  # a brighter instrument, not one sound for every program


def test_piano_texture_variants_play_what_the_two_handed_phrases_do_not() -> None:
    """Single lines, comping chords in the middle, a melody over sparse bass: within the piano's range,
    and far less often than `_piano` two hands sounding at once over a low left hand."""
    rng = np.random.default_rng(5)
    style = TEXTURE_VARIANTS["piano"]["piano"]
    assert style.name == "piano" and style.programs == LABEL_STYLES["piano"].programs
    single, low_hand = 0, 0
    for _ in range(60):
        phrase = random_phrase(style, rng)
        assert phrase.notes and all(style.low <= n.pitch <= style.high for n in phrase.notes)
        overlapping = max(sum(m.start <= n.start < m.end for m in phrase.notes) for n in phrase.notes)
        single += overlapping == 1
        low_hand += min(n.pitch for n in phrase.notes) < 48
    two_hands = [random_phrase(LABEL_STYLES["piano"], rng) for _ in range(60)]
    assert single >= 5 and sum(min(n.pitch for n in p.notes) < 48 for p in two_hands) > 2 * low_hand


def test_oneshot_variants_play_single_notes_with_silence_between() -> None:
    rng = np.random.default_rng(2)
    assert set(TEXTURE_VARIANTS["oneshots"]) == set(LABELS)
    for style in TEXTURE_VARIANTS["oneshots"].values():
        phrase = random_phrase(style, rng)
        notes = sorted(phrase.notes, key=lambda n: n.start)
        assert notes and all(style.low <= n.pitch <= style.high for n in notes)
        assert all(0.5 <= n.end - n.start <= 4.1 for n in notes)
        assert all(b.start - a.end >= 0.35 for a, b in zip(notes, notes[1:], strict=False))  # one at a time


@needs_tim
def test_saxophone_variant_plays_the_rest_of_the_family_under_the_tenor_label() -> None:
    # The real sources count alto, soprano and baritone as "tenor saxophone"; this variant lets the GM banks
    # do the same with their soprano (64), alto (65) and baritone (67) programs, never the tenor's own 66.
    (style,) = TEXTURE_VARIANTS["saxophones"].values()
    assert style.name == "tenor saxophone" and {p for p, _ in style.programs} == {64, 65, 67}
    jobs = plan(["TimGM6mb"], 100, 0, seed=0, variants=["saxophones"])
    assert {j.subset for j in jobs} == {"TimGM6mb~saxophones"} and {j.instrument for j in jobs} == {"tenor saxophone"}
    per_program = {p: sum(j.clips for j in jobs if j.program == p) for p in (64, 65, 67)}
    assert sum(per_program.values()) == 100 and per_program[64] > per_program[67] > 0


@needs_tim
def test_texture_variants_are_subsets_of_their_own(tmp_path: Path) -> None:
    jobs = plan(["TimGM6mb"], 2, 0, seed=0, variants=["piano"])
    assert {(j.subset, j.instrument) for j in jobs} == {("TimGM6mb~textures", "piano")}
    _, failed = synthesize(tmp_path, jobs + plan(["TimGM6mb"], 1, 0, seed=0), workers=2)
    assert not failed
    rows = read_metadata(tmp_path)
    textured = [r for r in rows if r.subset == "TimGM6mb~textures"]
    assert len(textured) == 2 and all(r.label == "piano" and r.extra["family"] == "gm6" for r in textured)
    assert len({r.song_id for r in rows}) == len(rows), "song ids stay unique beside the plain bank's"
    shots = plan(["TimGM6mb"], 1, 0, seed=0, variants=["oneshots"])
    assert {j.subset for j in shots} == {"TimGM6mb~oneshots"} and {j.instrument for j in shots} == set(LABELS)
    _, failed = synthesize(tmp_path, shots, workers=2)
    assert not failed
    ids = {r.song_id for r in read_metadata(tmp_path) if r.subset == "TimGM6mb~oneshots"}
    assert len(ids) == len(LABELS) and not ids & {r.song_id for r in rows}, \
        "one-shot song ids stay apart from the textures' and the bank's"
