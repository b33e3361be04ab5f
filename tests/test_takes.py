"""Long takes: the ground truth says where each solo really sounds, over a bed that never stops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio_tagger.labels import LABELS
from training.render import SAMPLE_RATE, frame_rms
from training.soundfonts import get_soundfont
from training.takes import Take, render_take, write_take

pytestmark = pytest.mark.skipif(not get_soundfont("TimGM6mb").path.exists(),
                                reason="TimGM6mb SoundFont not installed")


@pytest.fixture(scope="module")
def take() -> Take:
    return render_take("TimGM6mb", 1.5, seed=4)


def _mask(take: Take, label: str) -> np.ndarray:
    inside = np.zeros(len(take.audio), dtype=bool)
    for s in take.solos:
        if s.label == label:
            inside[int(s.start * SAMPLE_RATE): int(s.end * SAMPLE_RATE)] = True
    return inside


def test_solo_audio_is_inside_its_truth_regions(take: Take) -> None:
    assert len({s.label for s in take.solos}) >= 3
    for label, stem in take.stems.items():
        inside = _mask(take, label)
        energy_in, energy_out = np.sum(stem[inside] ** 2), np.sum(stem[~inside] ** 2)
        assert energy_out < 1e-3 * energy_in, label
    for s in take.solos:
        stem = take.stems[s.label]
        a, b = int(s.start * SAMPLE_RATE), int(s.end * SAMPLE_RATE)
        region = frame_rms(stem[a:b], 4410)
        # Sounding right from the start and up to the end of the region, not just somewhere inside it.
        assert region[:3].max() > 0.03 * region.max() and region[-3:].max() > 0.03 * region.max(), s


def test_solos_stand_above_a_bed_that_never_stops(take: Take) -> None:
    for s in take.solos:
        a, b = int(s.start * SAMPLE_RATE), int(s.end * SAMPLE_RATE)
        solo = np.sqrt(np.mean(take.stems[s.label][a:b] ** 2))
        bed = np.sqrt(np.mean(take.bed[a:b] ** 2))
        assert 5.5 <= 20 * np.log10(solo / bed) <= 10.5, s
    bed_env = frame_rms(take.bed[: -SAMPLE_RATE], SAMPLE_RATE // 2)  # all but the final fade
    assert bed_env.min() > 0.03 * bed_env.max()
    assert np.allclose(take.audio, take.bed + sum(take.stems.values()), atol=1e-5)
    assert set(take.stems) <= set(LABELS)


def test_written_take_matches_its_ground_truth(take: Take, tmp_path: Path) -> None:
    truth = write_take(take, tmp_path / "t.flac")
    on_disk = json.loads((tmp_path / "t.json").read_text())
    assert on_disk == truth
    assert set(on_disk) == {"file", "duration", "sample_rate", "bank", "seed", "peak_db", "solos"}
    assert (on_disk["file"], on_disk["bank"], on_disk["seed"]) == ("t.flac", "TimGM6mb", 4)
    audio, rate = sf.read(tmp_path / "t.flac", dtype="float32")
    assert rate == on_disk["sample_rate"] == SAMPLE_RATE and audio.ndim == 1
    assert abs(len(audio) / rate - on_disk["duration"]) < 1e-3
    assert [(s["label"], s["start"], s["end"]) for s in on_disk["solos"]] == \
        [(s.label, s.start, s.end) for s in take.solos]
    assert all(0 <= s["start"] < s["end"] <= on_disk["duration"] for s in on_disk["solos"])


def test_same_seed_same_take() -> None:
    a = render_take("TimGM6mb", 0.4, seed=9)
    b = render_take("TimGM6mb", 0.4, seed=9)
    assert a.solos == b.solos and np.array_equal(a.audio, b.audio)


def test_a_take_written_quieter_is_the_same_take_lower(take: Take, tmp_path: Path) -> None:
    loud = write_take(take, tmp_path / "loud.flac")
    quiet = write_take(take, tmp_path / "quiet.flac", peak_db=-37.0)
    a, _ = sf.read(tmp_path / "loud.flac", dtype="float64")
    b, _ = sf.read(tmp_path / "quiet.flac", dtype="float64")
    assert 20 * np.log10(np.abs(a).max()) == pytest.approx(-1.0, abs=0.01)
    assert 20 * np.log10(np.abs(b).max()) == pytest.approx(-37.0, abs=0.01)
    loud_part = np.abs(a) > 0.3  # where 16-bit steps are small next to the quiet copy
    assert np.allclose(b[loud_part] / a[loud_part], 10 ** (-36 / 20), rtol=0.01)
    assert quiet["solos"] == loud["solos"] and quiet["peak_db"] == -37.0


def test_accompaniment_only_takes_have_no_solos_and_low_lines_over_the_bed() -> None:
    plain = render_take("TimGM6mb", 0.5, seed=9)
    busy = render_take("TimGM6mb", 0.5, seed=9, accompaniment_only=True)
    assert busy.solos == [] and busy.stems == {}
    assert np.allclose(busy.audio, busy.bed)
    assert plain.solos  # the same seed with solos has them
    assert frame_rms(busy.audio, 4410).min() > 1e-3  # the bed never stops
