"""What the analysis tells about a recording it can only partly trust: a WAV cut short of what its header
promises (an interrupted copy) is analysed as far as it goes and said so, on the command line, in the
analysis's notices and in an archive run's summary; a sample rate below the model's is said too."""

from __future__ import annotations

import csv
import struct

import numpy as np
import soundfile as sf
from audiogen import tone_burst

from studio_tagger.audio.truncation import promised_seconds
from studio_tagger.cli import main


def _cut(path, keep_seconds: float, rate: int, block: int) -> None:
    data = path.read_bytes()
    at = data.index(b"data") + 8
    path.write_bytes(data[: at + int(keep_seconds * rate) * block])


def test_a_cut_wav_is_told_and_a_whole_one_is_not(tmp_path):
    whole = tmp_path / "whole.wav"
    sf.write(whole, tone_burst(10.0, 16000, 1.0, 9.0, channels=2), 16000, subtype="PCM_24")
    assert promised_seconds(whole) is None
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes())
    _cut(cut, 3.0, 16000, 6)
    assert promised_seconds(cut) == 10.0
    assert sf.info(str(cut)).duration < 3.01  # what libsndfile alone would report, silently
    # A size left unset by a streaming writer promises nothing.
    unset = tmp_path / "unset.wav"
    data = bytearray(cut.read_bytes())
    at = data.index(b"data") + 4
    data[at:at + 4] = struct.pack("<I", 0xFFFFFFFF)
    unset.write_bytes(bytes(data))
    assert promised_seconds(unset) is None
    flac = tmp_path / "take.flac"
    sf.write(flac, np.zeros(16000, np.float32), 16000)
    assert promised_seconds(flac) is None and promised_seconds(tmp_path / "missing.wav") is None


def test_analyze_and_batch_say_a_recording_was_cut_short(tmp_path, random_model_path, capsys):
    archive = tmp_path / "archive"
    archive.mkdir()
    cut = archive / "cut.wav"
    sf.write(cut, tone_burst(12.0, 16000, 1.0, 11.0), 16000)
    _cut(cut, 4.0, 16000, 2)
    assert main(["analyze", str(cut), "--model", str(random_model_path), "-q"]) == 0
    assert "header promises 12.0 s" in capsys.readouterr().err
    assert main(["batch", str(archive), "--out", str(tmp_path / "res"), "--workers", "1",
                 "--model", str(random_model_path), "-q"]) == 0
    with (tmp_path / "res" / "summary.csv").open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "done" and "header promises 12.0 s" in row["notices"]


def test_a_recording_below_the_models_rate_is_told(tmp_path, random_model_path, capsys):
    """At 11 kHz the top mel bands are empty and most phrases of benchmarks/robustness.py changed their top
    lane: the editor is told why the lanes may be off; 16 kHz and above say nothing."""
    low = tmp_path / "phone.wav"
    sf.write(low, tone_burst(6.0, 11025, 1.0, 5.0), 11025)
    assert main(["analyze", str(low), "--model", str(random_model_path), "-q"]) == 0
    assert "sample rate (11025 Hz) is below the model's 16000 Hz" in capsys.readouterr().err
    fine = tmp_path / "fine.wav"
    sf.write(fine, tone_burst(6.0, 16000, 1.0, 5.0), 16000)
    assert main(["analyze", str(fine), "--model", str(random_model_path), "-q"]) == 0
    assert capsys.readouterr().err == ""
