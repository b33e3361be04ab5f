"""Data sources, selection, splits and the decoded-clip cache."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from test_training import tone_clip, write_tone_dataset

from studio_tagger.audio import read_mono
from studio_tagger.labels import LABELS
from training import train
from training.data import (
    CLIP_SAMPLES,
    MIN_SAMPLES,
    SAMPLE_RATE,
    ClipSource,
    cut,
    decode,
    load_dataset,
    select,
    split,
)
from training.folder import folder_labels, folder_sources


def _wav(path, seconds: float, label_id: int = 0, seed: int = 0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sf.write(str(path), tone_clip(label_id, rng, int(seconds * SAMPLE_RATE)), SAMPLE_RATE)
    return path


def test_folder_dataset_maps_sub_folders_to_labels(tmp_path):
    _wav(tmp_path / "Tenor_Saxophone" / "a.wav", 3)
    _wav(tmp_path / "flute" / "live" / "b.wav", 3)  # nested folders count
    _wav(tmp_path / "flute" / "c.flac", 3)
    _wav(tmp_path / "banjo" / "d.wav", 3)
    _wav(tmp_path / "other" / "e.wav", 3)
    (tmp_path / "flute" / "notes.txt").write_text("not audio")
    _wav(tmp_path / "flute" / ".hidden.wav", 3)
    labels, sources = folder_sources(tmp_path)
    assert labels == ("flute", "tenor saxophone", "banjo") == folder_labels(tmp_path)
    by_name = {s.path.name: s for s in sources}
    assert set(by_name) == {"a.wav", "b.wav", "c.flac", "d.wav", "e.wav"}
    assert [by_name[n].label_id for n in ("a.wav", "b.wav", "c.flac", "d.wav", "e.wav")] == [1, 0, 0, 2, -1]
    assert len({s.song_id for s in sources}) == 5  # one song per file


def test_folder_dataset_without_labelled_audio_is_an_error(tmp_path):
    _wav(tmp_path / "other" / "e.wav", 3)
    with pytest.raises(ValueError, match="no audio files"):
        folder_sources(tmp_path)


def test_cut_keeps_whole_clips_and_a_long_enough_remainder():
    assert [len(p) for p in cut(np.zeros(2 * CLIP_SAMPLES + MIN_SAMPLES))] == [CLIP_SAMPLES, CLIP_SAMPLES, MIN_SAMPLES]
    assert [len(p) for p in cut(np.zeros(CLIP_SAMPLES + MIN_SAMPLES - 1))] == [CLIP_SAMPLES]
    assert cut(np.zeros(MIN_SAMPLES - 1)) == []


def test_decode_cuts_long_files_and_caches_by_file_identity(tmp_path):
    long = _wav(tmp_path / "long.wav", 8.5, 2)
    short = _wav(tmp_path / "short.wav", 1.0, 3)  # under one window: dropped
    sources = [ClipSource(long, 2, 0, "s", "f"), ClipSource(short, 3, 1, "s", "f")]
    cache = tmp_path / "cache"
    clips = decode(sources, LABELS, cache, jobs=1)
    assert clips.lengths.tolist() == [CLIP_SAMPLES, CLIP_SAMPLES, 136_000 - 2 * CLIP_SAMPLES]
    assert clips.label_ids.tolist() == [2, 2, 2] and clips.source_index.tolist() == [0, 0, 0]
    wave = read_mono(long, SAMPLE_RATE)
    np.testing.assert_allclose(clips.audio[1].astype(np.float32), wave[CLIP_SAMPLES: 2 * CLIP_SAMPLES], atol=1e-3)
    assert not clips.audio[2, clips.lengths[2]:].any()  # padding past the end is silence
    assert clips.targets().sum(axis=0).tolist() == [0, 0, 3, 0, 0, 0, 0, 0]
    assert len(list(cache.glob("clips-*.npz"))) == 1
    again = decode(sources, LABELS, cache, jobs=1)
    np.testing.assert_array_equal(again.audio, clips.audio)
    _wav(long, 4.0, 2, seed=1)  # the file changed: a new cache entry, new clips
    assert len(decode(sources, LABELS, cache, jobs=1)) == 1
    assert len(list(cache.glob("clips-*.npz"))) == 2


def test_selection_by_bank_or_family_and_song_aware_split(tmp_path):
    root = write_tone_dataset(tmp_path / "tones", banks=("FluidR3_GM", "MuseScore_General", "TimGM6mb"))
    data = load_dataset("synth", root)
    assert data.labels == LABELS
    assert len(data.targets) == 3 * 16 and len(data.accompaniment) == 3 * 2
    fluid = select(data.sources, "fluid")
    assert {s.subset for s in fluid} == {"FluidR3_GM", "MuseScore_General"}
    assert {s.subset for s in select(data.sources, "TimGM6mb,MuseScore_General")} == {"TimGM6mb", "MuseScore_General"}
    with pytest.raises(ValueError, match="no clips in subset or family nope"):
        select(data.sources, "nope")
    rest, held = split(fluid, 0.25, seed=0)
    assert 0 < len(held) < len(fluid) and len(rest) + len(held) == len(fluid)
    assert not {s.song_id for s in rest} & {s.song_id for s in held}


def test_training_reads_a_folder_library_with_a_held_out_split(tmp_path):
    for i, label in enumerate(("flute", "violin")):
        for k in range(4):
            _wav(tmp_path / "lib" / label / f"{k}.wav", 3.0, i, seed=k)
    _wav(tmp_path / "lib" / "other" / "x.wav", 7.0, -1)
    args = train._defaults(train.build_parser().parse_args(
        ["--data", "folder", "--root", str(tmp_path / "lib"), "--val", "split:0.25", "--cache", str(tmp_path / "c"),
         "--jobs", "1"]))
    training, validation = train.load_clips(args)
    assert training.labels == ("flute", "violin")
    assert len(training) + len(validation) == 8 + 2  # the 7 s negative gives two clips
    assert (training.label_ids == -1).any() or (validation.label_ids == -1).any()
    assert not set(training.song_ids) & set(validation.song_ids)
