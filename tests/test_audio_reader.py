"""Decoding any format, rate, depth and channel count, in blocks; clear errors for bad input."""

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from studio_tagger.audio import AudioError, ffmpeg, iter_blocks, open_audio, probe, read_mono


def _signal(seconds: float, rate: int, channels: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.4 * np.sin(2 * np.pi * 220 * t)
    return np.stack([mono * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.mark.parametrize(
    ("name", "fmt", "subtype"),
    [
        ("a.wav", "WAV", "PCM_U8"), ("a.wav", "WAV", "PCM_16"), ("a.wav", "WAV", "PCM_24"),
        ("a.wav", "WAV", "PCM_32"), ("a.wav", "WAV", "FLOAT"), ("a.wav", "WAV", "DOUBLE"),
        ("a.flac", "FLAC", "PCM_24"), ("a.ogg", "OGG", "VORBIS"), ("a.mp3", "MP3", "MPEG_LAYER_III"),
        ("a.aiff", "AIFF", "PCM_16"), ("a.rf64", "RF64", "PCM_16"), ("a.w64", "W64", "FLOAT"),
    ],
)
def test_formats_decode_to_the_same_mono_signal(tmp_path, name, fmt, subtype):
    data = _signal(1.0, 44100, 2)
    path = tmp_path / name
    sf.write(str(path), data, 44100, format=fmt, subtype=subtype)
    info = probe(path)
    assert info.channels == 2 and info.sample_rate == 44100
    mono = read_mono(path)
    lossy = fmt in ("OGG", "MP3")
    assert abs(len(mono) - 44100) <= (2000 if lossy else 0)
    if not lossy:
        tol = {"PCM_U8": 2e-2, "PCM_16": 1e-4}.get(subtype, 1e-6)
        np.testing.assert_allclose(mono, data.mean(axis=1), atol=tol)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32"])
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_integer_pcm_decodes_to_libsndfiles_own_float_values(tmp_path, subtype, channels):
    """Integer files are read as integers and scaled by the reader: the values must be libsndfile's."""
    rng = np.random.default_rng(channels)
    data = np.clip(rng.uniform(-1.2, 1.2, size=(5000, channels)), -1.0, 1.0)  # full scale, both signs
    path = tmp_path / f"int.{subtype}.wav"
    sf.write(str(path), data, 44100, subtype=subtype)
    expected = sf.read(str(path), dtype="float64", always_2d=True)[0].mean(axis=1)
    mono = read_mono(path)
    assert mono.dtype == np.float32
    np.testing.assert_allclose(mono, expected, atol=2e-7, rtol=0)


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (192000, 2), (48000, 8), (22050, 3)])
def test_any_rate_and_channel_count_resamples_to_16k(write_audio, rate, channels):
    path = write_audio("x.wav", _signal(2.0, rate, channels), rate)
    mono = read_mono(path, 16000)
    assert abs(len(mono) - 32000) <= 1
    expected = soxr.resample(_signal(2.0, rate, channels).mean(axis=1), rate, 16000)
    np.testing.assert_allclose(mono[1000:-1000], expected[1000:-1000], atol=2e-3)


def test_blocks_are_bounded_and_seamless(write_audio):
    data = _signal(20.0, 48000, 2)
    path = write_audio("blocks.wav", data, 48000)
    blocks = list(iter_blocks(path, 16000, block_seconds=1.3))
    assert max(len(b) for b in blocks) <= 1.3 * 16000 + 1000  # plus the resampler's flush
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    joined = np.concatenate(blocks)
    one_pass = np.concatenate(list(iter_blocks(path, 16000, block_seconds=60.0)))
    np.testing.assert_allclose(joined, one_pass, atol=1e-5)


def test_excerpt_by_seconds(write_audio):
    data = np.arange(48000, dtype=np.float32)[:, None] / 48000
    path = write_audio("ramp.wav", data, 48000, subtype="FLOAT")
    part = read_mono(path, start=0.25, stop=0.5)
    assert len(part) == 12000 and part[0] == pytest.approx(0.25)


def test_nan_and_inf_become_silence(write_audio):
    data = _signal(1.0, 16000, 1)
    data[100:200] = np.nan
    data[300] = np.inf
    path = write_audio("nan.wav", data, 16000, subtype="FLOAT")
    mono = read_mono(path)
    assert np.isfinite(mono).all() and mono[150] == 0.0


def test_reading_never_writes_the_source(write_audio):
    path = write_audio("keep.wav", _signal(3.0, 44100, 2), 44100)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    read_mono(path, 16000)
    list(iter_blocks(path, 22050, block_seconds=0.5))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("hello, this is not audio\n" * 20), "not a readable audio file"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "not a readable audio file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)), "not a readable audio file"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), "not a readable audio file"),
    ],
    ids=["missing", "folder", "empty", "text", "random", "png", "truncated-header"],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad input ü.wav"
    make(path)
    with pytest.raises(AudioError) as info:
        probe(path)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_truncated_data_reads_what_is_there(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(str(path), _signal(2.0, 16000, 1), 16000, subtype="PCM_16")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    mono = read_mono(path)
    assert 0 < len(mono) <= 16000 + 10


needs_ffmpeg = pytest.mark.skipif(not ffmpeg.available(), reason="needs ffmpeg and ffprobe")


def _encode(source, out, *args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *args, str(out)], check=True,
                   timeout=120)


@needs_ffmpeg
@pytest.mark.parametrize(("name", "args"), [("a.m4a", ["-c:a", "aac"]), ("a.m4a", ["-c:a", "alac"]),
                                            ("a.mkv", ["-c:a", "flac"])], ids=["aac", "alac", "mkv-flac"])
def test_formats_libsndfile_lacks_are_read_through_ffmpeg(tmp_path, name, args):
    """AAC and ALAC in .m4a, audio in a video container: the same signal, the same length from every
    reader, excerpts where asked, and the stereo image down-mixed as for any file."""
    data = _signal(3.0, 48000, 2)
    wav = tmp_path / "a.wav"
    sf.write(str(wav), data, 48000, subtype="FLOAT")
    path = tmp_path / name
    _encode(wav, path, *args)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.format) == (48000, 2, "FFMPEG")
    assert abs(info.frames - len(data)) <= 2048  # the container's duration, AAC's padding aside
    mono = read_mono(path)
    assert len(mono) == info.frames  # reads agree with the probe, whatever the codec adds
    lossless = "aac" not in args
    n = min(len(mono), len(data))
    if lossless:
        np.testing.assert_allclose(mono[:n], data[:n].mean(axis=1), atol=1e-4)
    else:  # a lossy codec keeps the tone, in place (ffmpeg trims AAC's priming by the file's edit list)
        assert np.corrcoef(mono[4096:n - 4096], data[4096:n - 4096].mean(axis=1))[0, 1] > 0.99
    part = read_mono(path, 16000, start=1.0, stop=2.0)
    assert len(part) == 16000
    whole16 = read_mono(path, 16000)
    np.testing.assert_allclose(part[2000:14000], whole16[18000:30000], atol=2e-3)  # seeking lands where asked
    with open_audio(path) as f:
        f.seek(48000)
        block = f.read(1000, dtype="float32", always_2d=True)
        assert block.shape == (1000, 2)
        assert len(list(f.blocks(48000, always_2d=True))) == -(-(info.frames - 49000) // 48000)


@needs_ffmpeg
def test_what_ffmpeg_cannot_read_is_one_line_naming_the_file(tmp_path):
    fake = tmp_path / "noise.m4a"
    fake.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(AudioError) as info:
        probe(fake)
    assert str(info.value).startswith(f"{fake}: not a readable audio file (") and "\n" not in str(info.value)
    # A sound header over undecodable data (an encrypted or damaged stream): an error, not a silent take.
    sf.write(str(tmp_path / "a.wav"), _signal(2.0, 44100, 2), 44100)
    _encode(tmp_path / "a.wav", tmp_path / "whole.m4a", "-c:a", "aac", "-movflags", "+faststart")
    data = (tmp_path / "whole.m4a").read_bytes()
    payload = data.index(b"mdat") + 4
    damaged = tmp_path / "damaged.m4a"
    damaged.write_bytes(data[:payload] + np.random.default_rng(2).bytes(len(data) - payload))
    assert probe(damaged).frames == pytest.approx(88200, abs=2048)
    with pytest.raises(AudioError, match="could not decode its audio"):
        read_mono(damaged)
    text = tmp_path / "notes.m4a"  # plainly not audio: said so, ffmpeg not asked
    text.write_text("hello, this is not audio\n" * 20)
    with pytest.raises(AudioError, match="it looks like a text file"):
        probe(text)


def test_without_ffmpeg_an_m4a_says_what_is_missing(tmp_path, monkeypatch):
    path = tmp_path / "take.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(100))
    monkeypatch.setattr(ffmpeg.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="needs ffmpeg, which is not installed"):
        probe(path)


@needs_ffmpeg
def test_ffmpeg_reads_names_that_look_like_options_or_protocols(tmp_path, monkeypatch):
    sf.write(str(tmp_path / "a.wav"), _signal(1.0, 44100, 1), 44100)
    _encode(tmp_path / "a.wav", tmp_path / "-take:2.m4a", "-c:a", "alac")
    monkeypatch.chdir(tmp_path)
    assert probe(Path("-take:2.m4a")).frames == 44100
    assert len(read_mono(Path("-take:2.m4a"))) == 44100


def test_a_channel_wired_in_opposite_polarity_does_not_cancel_the_music(write_audio):
    """Summed, a stereo pair with one channel inverted is silence; it is read as the mono signal instead.
    Ordinary stereo (the same, or unrelated channels) is summed as before."""
    rng = np.random.default_rng(3)
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000)).astype(np.float32)
    inverted = write_audio("inverted.wav", np.stack([tone, -tone], axis=1), 16000, subtype="PCM_16")
    assert np.allclose(read_mono(inverted), tone, atol=1e-3)
    # Partly inverted (a reverberant pair, one cable swapped) still holds most of the music.
    tail = (0.2 * rng.standard_normal(48000)).astype(np.float32)
    swapped = write_audio("swapped.wav", np.stack([tone + tail, -tone + tail], axis=1) * 0.5, 16000)
    assert np.sqrt(np.mean(read_mono(swapped) ** 2)) > 0.15
    noise = (0.3 * rng.standard_normal((48000, 2))).astype(np.float32)
    unrelated = write_audio("unrelated.wav", noise, 16000, subtype="FLOAT")
    assert np.allclose(read_mono(unrelated), noise.mean(axis=1), atol=1e-6)
