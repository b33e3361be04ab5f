"""Real-sound training data: real notes strung into phrases, amplifier chains, physical models, Sinsy."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.labels import LABELS
from training import notephrases, physical, singing
from training.data import load_dataset, select
from training.realdata import RATE, Note, load, read_manifest, realdata_root, salamander_notes
from training.realdata import groups as groups_of
from training.realsynth import (
    CLIP_SAMPLES,
    ONESHOTS,
    PIANO_LINES,
    Job,
    plan,
    plan_oneshots,
    plan_piano_lines,
    render_job,
    synthesize,
)


def _peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spectrum[freqs < 50] = 0.0  # a note's onset or fade leaves some DC in a short frame
    return float(freqs[np.argmax(spectrum)])


def _tone(hz: float, seconds: float = 1.5, decay: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-decay * t)).astype(np.float32)


@pytest.fixture
def tone_notes(tmp_path: Path) -> list[Note]:
    """Sine 'notes' every 3 semitones from MIDI 57 to 72, written as the realdata files are (22.05 kHz OGG)."""
    notes = []
    for pitch in range(57, 73, 3):
        path = tmp_path / f"tone_{pitch}.ogg"
        sf.write(path, _tone(440.0 * 2 ** ((pitch - 69) / 12)), RATE)
        notes.append(Note(path, "tones", "flute", float(pitch)))
    return notes


@pytest.fixture(scope="module")
def real_notes() -> list[Note]:
    """Every note of ../shared/realdata's manifest; the test is skipped where the folder is missing."""
    try:
        return read_manifest(realdata_root())
    except FileNotFoundError:
        pytest.skip("../shared/realdata is not beside the repository")


def test_a_missing_realdata_folder_says_where_it_was_looked_for(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STUDIO_TAGGER_REALDATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere/manifest.csv is missing"):
        realdata_root()


def test_the_manifest_maps_every_saxophone_to_tenor_and_the_di_guitar_to_distorted(real_notes) -> None:
    by = {n.instrument: n.label for n in real_notes}
    for sax in ("alto saxophone", "baritone saxophone", "soprano saxophone", "tenor saxophone"):
        assert by[sax] == "tenor saxophone"
    assert by["electric guitar (clean DI)"] == "distorted electric guitar"
    assert by["french horn"] is None and by["female voice (growl)"] is None and by["noise"] is None
    assert {n.label for n in real_notes} - {None} == set(LABELS) - {"female singer"}


def test_salamander_names_give_pitch_and_velocity_layer(tmp_path: Path) -> None:
    for name in ("A0v10", "D#3v6", "C4v14", "readme"):
        sf.write(tmp_path / f"{name}.ogg", _tone(440.0, 0.2), RATE)
    notes = {n.path.stem: n for n in salamander_notes(tmp_path)}
    assert set(notes) == {"A0v10", "D#3v6", "C4v14"}
    assert (notes["A0v10"].pitch, notes["D#3v6"].pitch, notes["C4v14"].pitch) == (21.0, 51.0, 60.0)
    assert notes["D#3v6"].dynamic == "v6" and notes["C4v14"].label == "piano"


def test_load_trims_leading_silence_to_the_attack(tmp_path: Path) -> None:
    path = tmp_path / "late.wav"
    sf.write(path, np.concatenate([np.zeros(RATE // 2, np.float32), _tone(440.0, 0.5)]), RATE)
    audio = load(path)
    assert len(audio) < RATE // 2 + 200 and np.abs(audio[:200]).max() > 0.1


def test_play_moves_pitch_by_semitones_and_wobbles_with_vibrato() -> None:
    tone = _tone(440.0, 2.0)
    assert _peak_hz(notephrases.play(tone, 12.0, RATE // 2)) == pytest.approx(880.0, abs=4.0)
    assert _peak_hz(notephrases.play(tone, -3.0, RATE)) == pytest.approx(440 * 2 ** (-3 / 12), abs=3.0)
    wobbly = notephrases.play(tone, 0.0, RATE, vibrato_cents=50.0, vibrato_hz=5.0)
    peaks = [_peak_hz(wobbly[i: i + 2048]) for i in range(0, RATE - 2048, 1024)]
    assert max(peaks) - min(peaks) > 15.0  # +-50 cents of 440 Hz is +-13 Hz


def test_melodic_phrases_sound_throughout_within_the_notes_pitch_range(tone_notes: list[Note]) -> None:
    rng = np.random.default_rng(3)
    phrase = notephrases.melodic(tone_notes, rng, 4.0)
    assert len(phrase) == 4 * RATE and np.isfinite(phrase).all()
    pitches = []
    for i in range(0, len(phrase) - 4096, 2048):
        frame = phrase[i: i + 4096]
        if np.sqrt(np.mean(frame**2)) > 0.02:
            pitches.append(69 + 12 * np.log2(_peak_hz(frame) / 440.0))
    assert len(pitches) > 10
    # (a frame across a note boundary can read low, so the bulk of the frames is what is checked)
    assert np.percentile(pitches, 5) >= 57 - 2.5 and np.percentile(pitches, 95) <= 70 + 2.5
    assert max(pitches) - min(pitches) >= 2  # a line moves
    again = notephrases.melodic(tone_notes, np.random.default_rng(3), 4.0)
    assert np.array_equal(phrase, again)


def test_piano_phrases_are_polyphonic(tone_notes: list[Note]) -> None:
    notes = [Note(n.path, "tones", "piano", n.pitch - 12 * k) for n in tone_notes for k in (0, 1, 2)]
    phrase = notephrases.piano(notes, np.random.default_rng(0), 3.0)
    spectrum = np.abs(np.fft.rfft(phrase[: RATE]))
    strong = np.flatnonzero(spectrum > 0.2 * spectrum.max())
    bands = np.unique(np.round(np.fft.rfftfreq(RATE, 1 / RATE)[strong] / 20))
    assert len(bands) >= 3  # several pitches sound at once


def test_oneshots_play_whole_notes_one_at_a_time_with_silence_between(tone_notes: list[Note]) -> None:
    notes = [Note(n.path, "tones", "piano", n.pitch) for n in tone_notes]
    shots = notephrases.oneshots(notes, np.random.default_rng(0), 6.0)
    assert len(shots) == 6 * RATE
    hop = RATE // 50
    level = np.array([np.sqrt(np.mean(shots[i: i + hop] ** 2)) for i in range(0, len(shots) - hop, hop)])
    sounding = level > 0.01 * level.max()
    onsets = np.flatnonzero(sounding[1:] & ~sounding[:-1])
    assert len(onsets) >= 2  # several notes, each entering from silence
    assert (~sounding).mean() > 0.03  # with gaps between them
    pitches = {round(_peak_hz(shots[i * hop: i * hop + RATE // 4])) for i in onsets + 3 if i * hop + RATE // 4 < len(shots)}
    assert len(pitches) >= 2  # not the same note over and over
    again = notephrases.oneshots(notes, np.random.default_rng(0), 6.0)
    assert np.array_equal(shots, again)


def test_piano_lines_play_one_note_at_a_time_unlike_the_two_handed_phrases(tone_notes: list[Note]) -> None:
    notes = [Note(n.path, "tones", "piano", n.pitch - 12 * k) for n in tone_notes for k in (0, 1, 2)]
    frame = 4096
    for seed in range(6):
        line = notephrases.piano_lines(notes, np.random.default_rng(seed), 4.0)
        assert len(line) == 4 * RATE and np.isfinite(line).all() and np.abs(line).max() > 0.05
        # Pitches sounding together in each loud frame: mostly one (a third or an octave now and then, or a
        # note ringing under the next), where `piano` strikes chords under its melody.
        counts = []
        for i in range(0, len(line) - frame, frame):
            x = line[i: i + frame]
            if np.sqrt(np.mean(x**2)) < 0.1 * np.abs(line).max() / np.sqrt(2):
                continue
            spectrum = np.abs(np.fft.rfft(x * np.hanning(frame)))
            freqs = np.fft.rfftfreq(frame, 1 / RATE)
            peaks = [k for k in range(1, len(spectrum) - 1) if spectrum[k] > 0.3 * spectrum.max()
                     and spectrum[k] >= spectrum[k - 1] and spectrum[k] >= spectrum[k + 1] and freqs[k] > 50]
            counts.append(len(peaks))
        assert counts and np.median(counts) <= 2, (seed, counts)
    chords = notephrases.piano(notes, np.random.default_rng(0), 4.0)
    assert not np.array_equal(chords[: RATE], notephrases.piano_lines(notes, np.random.default_rng(0), 4.0)[: RATE])
    again = notephrases.piano_lines(notes, np.random.default_rng(2), 4.0)
    assert np.array_equal(again, notephrases.piano_lines(notes, np.random.default_rng(2), 4.0))


def test_amplifier_chains_distort_and_roll_off_like_a_cabinet() -> None:
    pytest.importorskip("pedalboard")
    from training.amp import amplify

    clean = _tone(220.0, 1.0, decay=1.0)
    for seed in range(3):
        driven = amplify(clean, RATE, np.random.default_rng(seed))
        spectrum = np.abs(np.fft.rfft(driven)) ** 2
        freqs = np.fft.rfftfreq(len(driven), 1 / RATE)
        fundamental = spectrum[(freqs > 200) & (freqs < 240)].sum()
        harmonics = spectrum[(freqs > 500) & (freqs < 3000)].sum()
        top = spectrum[freqs > 8000].sum()
        assert harmonics > 0.05 * fundamental  # a sine came out rich in harmonics
        assert top < 0.02 * spectrum.sum()  # and little above the cabinet
        assert np.abs(driven).max() == pytest.approx(0.9, abs=0.01)


def test_plan_spreads_every_label_over_its_sources_and_keeps_sources_apart(tone_notes, real_notes) -> None:
    jobs = plan(real_notes, 40, seed=0, stk=True, sinsy=True)
    per_label = {label: sum(j.clips for j in jobs if j.label == label) for label in LABELS}
    assert all(abs(n - 40) <= 1 for n in per_label.values()), per_label
    sax = {j.subset for j in jobs if j.label == "tenor saxophone"}
    assert {"weresax", "bear_sax", "mtg_solosax", "stk"} <= sax
    assert all(j.subset == "sinsy" or j.subset == "stk" for j in jobs if j.label == "female singer")
    acc = {j.group for j in jobs if j.label is None}
    assert "tonejs_vso2/harp" in acc and "mtg_solosax/noise" in acc
    assert "merry_orks/female voice (growl)/phrases" in acc
    for j in jobs:  # a job's notes come from its own source only, so a held-out source stays out
        assert all(n.source == j.subset for n in j.notes)


def test_oneshots_plan_holds_out_with_their_source_and_adds_accompaniment_negatives(real_notes) -> None:
    jobs = plan_oneshots(real_notes, 30, seed=0)
    assert {j.kind for j in jobs} == {"oneshots"} and all(j.subset.endswith(ONESHOTS) for j in jobs)
    per_label = {j.label: 0 for j in jobs}
    for j in jobs:
        per_label[j.label] += j.clips
    # every label with real notes gets its clips (the female singer has none: Sinsy sings phrases only)
    assert set(per_label) - {None} == set(LABELS) - {"female singer"}
    assert all(n == 30 for label, n in per_label.items() if label is not None), per_label
    assert {j.group for j in jobs if j.label is None} >= {"tonejs_vso2/harp", "tonejs_vso2/french horn"}
    for j in jobs:
        assert all(n.source + ONESHOTS == j.subset for n in j.notes)


def test_piano_lines_plan_plays_every_real_piano_and_holds_out_with_its_source(real_notes) -> None:
    piano = [n for n in real_notes if n.label == "piano"]
    others = [Note(n.path, "elsewhere", "piano", n.pitch) for n in piano[:10]]
    jobs = plan_piano_lines(real_notes + others, 41, seed=0)
    assert {j.kind for j in jobs} == {"piano_lines"} and {j.label for j in jobs} == {"piano"}
    assert sum(j.clips for j in jobs) == 41
    per_subset = {j.subset: 0 for j in jobs}
    for j in jobs:
        per_subset[j.subset] += j.clips
        assert all(n.source + PIANO_LINES == j.subset and n.label == "piano" for n in j.notes)
    # each piano (one room, one instrument) gets its share, whatever its number of notes
    assert set(per_subset) == {f"{p.source}{PIANO_LINES}" for p in piano} | {"elsewhere" + PIANO_LINES}
    assert max(per_subset.values()) - min(per_subset.values()) <= 1


def test_a_variant_subset_is_selected_and_held_out_with_its_source(tmp_path: Path, tone_notes: list[Note]) -> None:
    jobs = [Job("tones", "melodic", "tones/flute", "flute", 2, 7, 0, tuple(tone_notes)),
            Job("tones" + ONESHOTS, "oneshots", "tones/flute", "flute", 2, 7, 0, tuple(tone_notes)),
            Job("others", "melodic", "others/flute", "flute", 2, 7, 0, tuple(tone_notes))]
    synthesize(tmp_path / "set", jobs, workers=1)
    sources = load_dataset("synth", tmp_path / "set").sources
    assert {s.subset for s in select(sources, "tones")} == {"tones", "tones~oneshots"}
    assert {s.subset for s in select(sources, "tones~oneshots")} == {"tones~oneshots"}
    assert {s.subset for s in select(sources, "others")} == {"others"}


def test_rendered_clips_load_as_a_dataset(tmp_path: Path, tone_notes: list[Note]) -> None:
    jobs = [Job("tones", "melodic", "tones/flute", "flute", 3, 7, 0, tuple(tone_notes)),
            Job("tones", "arpeggios", "tones/harp", None, 2, 7, 0, tuple(tone_notes))]
    count, failed = synthesize(tmp_path / "set", jobs, workers=1)
    assert count == 5 and not failed
    dataset = load_dataset("synth", tmp_path / "set")
    assert sorted(s.label_id for s in dataset.sources) == [-1, -1, 3, 3, 3]
    for s in dataset.sources:
        info = sf.info(s.path)
        assert (info.samplerate, info.frames) == (RATE, CLIP_SAMPLES)
        assert s.family == "real" and s.subset == "tones"
    again = render_job(jobs[0], tmp_path / "set")  # done before: reused, not rendered again
    assert [r.path for r in again] == [s.path for s in dataset.sources if s.label_id == 3]


@pytest.mark.skipif(not physical.available(), reason="stk-demo (Debian package stk) not installed")
@pytest.mark.parametrize("label", ["clarinet", "violin", "trumpet"])
def test_physical_models_play_a_pitched_phrase(label: str) -> None:
    voice = physical.VOICES[label]
    audio = physical.render(voice, np.random.default_rng(1), 2.0)
    assert len(audio) > 1.5 * RATE and np.sqrt(np.mean(audio**2)) > 1e-3
    low, high = voice.pitch
    shortest, longest = int(RATE / (440 * 2 ** ((high + 1 - 69) / 12))), int(RATE / (440 * 2 ** ((low - 1 - 69) / 12)))
    periodic = []
    for start in range(0, len(audio) - 2048, 2048):
        frame = audio[start: start + 2048].astype(np.float64)
        frame -= frame.mean()
        ac = np.correlate(frame, frame, "full")[len(frame) - 1:] / max(frame @ frame, 1e-12)
        periodic.append(ac[shortest: longest + 1].max() > 0.5)  # a period within the voice's range
    assert np.mean(periodic) > 0.5


def test_sinsy_scores_are_valid_musicxml_with_rests_at_both_ends() -> None:
    root = ET.fromstring(singing.melody_xml(np.random.default_rng(0), 5.0))
    notes = root.findall(".//note")
    assert notes[0].find("rest") is not None and notes[-1].find("rest") is not None
    sung = [n for n in notes if n.find("pitch") is not None]
    assert len(sung) >= 4 and all(n.find("lyric/text").text in singing.SYLLABLES for n in sung)
    octaves = [int(n.find("pitch/octave").text) for n in sung]
    assert min(octaves) >= 3 and max(octaves) <= 5


@pytest.mark.skipif(not singing.available(), reason="pysinsy not installed")
def test_sinsy_sings_a_voiced_phrase() -> None:
    audio = singing.sing(np.random.default_rng(2), 3.0)
    env = np.array([np.sqrt(np.mean(audio[i: i + 1024] ** 2)) for i in range(0, len(audio) - 1024, 1024)])
    assert env.max() > 0.01 and (env > 0.1 * env.max()).mean() > 0.3


def test_stk_demo_is_found_when_installed() -> None:
    assert physical.available() == (shutil.which("stk-demo") is not None)


def test_real_takes_put_each_solo_where_it_sounds_above_a_real_bed(real_notes) -> None:
    from training.realtakes import render_real_take
    from training.render import SAMPLE_RATE as TAKE_RATE

    by_group = groups_of(real_notes)
    take = render_real_take(by_group, ["mtg_solosax/tenor saxophone", "ixox_flute/flute"], 1.0, 3, "real:test")
    assert len(take.audio) == 60 * TAKE_RATE and {s.label for s in take.solos} == {"tenor saxophone", "flute"}
    # each solo names the source's instrument that plays it, so reports can count solos found per group
    assert {(s.label, s.group) for s in take.solos} == {("tenor saxophone", "mtg_solosax/tenor saxophone"),
                                                       ("flute", "ixox_flute/flute")}
    bed_rms = np.sqrt(np.mean(take.bed**2))
    assert bed_rms > 0.01  # the bed plays throughout
    for s in take.solos:
        a, b = int(s.start * TAKE_RATE), int(s.end * TAKE_RATE)
        solo = take.audio[a:b] - take.bed[a:b]
        ratio_db = 20 * np.log10(np.sqrt(np.mean(solo**2)) / np.sqrt(np.mean(take.bed[a:b] ** 2)))
        assert 5.0 < ratio_db < 11.0, (s, ratio_db)
    solo_anywhere = np.zeros(len(take.audio), bool)
    for s in take.solos:
        solo_anywhere[int(s.start * TAKE_RATE): int(s.end * TAKE_RATE)] = True
    outside = (take.audio - take.bed)[~solo_anywhere]
    # nothing solos outside the truth but release tails under its -30 dB floor (the solo sits 6-10 dB up)
    assert np.sqrt(np.mean(outside**2)) < 0.1 * bed_rms
    quiet = render_real_take(by_group, [], 0.5, 3, "real:accompaniment")
    assert quiet.solos == [] and np.allclose(quiet.audio, quiet.bed)


def test_real_takes_play_pianos_with_one_hand_when_asked(monkeypatch, real_notes) -> None:
    from training.realtakes import render_real_take

    by_group = groups_of(real_notes)
    played = []

    def lines(group_notes, rng, seconds):
        played.append(group_notes[0].group)
        return notephrases.melodic(group_notes, rng, seconds)

    monkeypatch.setitem(notephrases.__dict__, "piano_lines", lines)
    groups = ["splendid_piano/piano", "ixox_flute/flute"]
    take = render_real_take(by_group, groups, 1.0, 3, "real:test~lines", piano_lines=True)
    pianos = [s for s in take.solos if s.label == "piano"]
    assert pianos and played == ["splendid_piano/piano"] * len(played) and len(played) >= len(pianos)
    played.clear()
    render_real_take(by_group, groups, 1.0, 3, "real:test")
    assert played == []  # two hands unless asked


def test_realdata_check_fails_with_a_clear_message_when_the_folder_is_missing(tmp_path, capsys) -> None:
    from training.realdata import main

    assert main(["--realdata", str(tmp_path)]) == 2
    assert "manifest.csv is missing" in capsys.readouterr().err


def test_resize_moves_a_voice_and_keeps_the_clip_length() -> None:
    tone = _tone(300.0, 1.2)
    up, down = singing.resize(tone, 2.0, RATE), singing.resize(tone, -2.0, RATE)
    assert len(up) == len(down) == RATE
    assert _peak_hz(up) == pytest.approx(300 * 2 ** (2 / 12), abs=3.0)
    assert _peak_hz(down) == pytest.approx(300 * 2 ** (-2 / 12), abs=3.0)
    assert np.abs(up[-100:]).max() > 0.1  # 1.2 s of audio is enough for a clip moved up by a tone


def test_credits_name_every_non_gm_source_with_its_licence() -> None:
    from training.realdata import credits

    rows = credits(["FluidR3_GM", "mtg_solosax", "tonejs_vso2", "sinsy", "stk", "mtg_solosax"])
    assert [r["source"] for r in rows] == ["mtg_solosax", "sinsy", "stk", "tonejs_vso2"]
    by = {r["source"]: r for r in rows}
    assert by["mtg_solosax"]["licence"] == "CC-BY-4.0" and "Music Technology Group" in by["mtg_solosax"]["credit"]
    assert by["tonejs_vso2"]["licence"] == "CC-BY-3.0" and "Versilian" in by["tonejs_vso2"]["credit"]
