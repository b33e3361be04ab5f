"""WAV with embedded regions, read back by a chunk parser written here (separate from the writer) and by
soundfile for the samples."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cuereaders import FFPROBE, ffprobe_chapters, libsndfile_cues

from studio_tagger.analysis.regions import Region
from studio_tagger.interchange import ExportCancelled, ExportError, ExportOptions, export_regions
from studio_tagger.interchange.markers import prepare_markers
from studio_tagger.interchange.wav import write_wav_with_markers

# --- a minimal RIFF/RF64 reader, independent of the writer ------------------------------------------


@dataclass
class Chunk:
    fourcc: bytes
    offset: int  # of the chunk header
    size: int  # body size (from ds64 where the header says 0xFFFFFFFF)
    header_size: int  # the 32-bit size field as written
    body: bytes


@dataclass
class Riff:
    kind: bytes
    header_size: int
    chunks: list[Chunk]
    ds64: tuple[int, int, int, int] | None = None
    cues: dict[int, int] = field(default_factory=dict)  # id -> sample offset
    labels: dict[int, str] = field(default_factory=dict)
    lengths: dict[int, int] = field(default_factory=dict)

    def ids(self) -> list[bytes]:
        return [c.fourcc for c in self.chunks]

    def chunk(self, fourcc: bytes) -> Chunk:
        (found,) = [c for c in self.chunks if c.fourcc == fourcc]
        return found


def parse_wav(data: bytes) -> Riff:
    kind, header_size, wave = struct.unpack_from("<4sI4s", data, 0)
    assert kind in (b"RIFF", b"RF64") and wave == b"WAVE"
    riff = Riff(kind, header_size, [])
    pos = 12
    while pos < len(data):
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        header = size
        if fourcc == b"ds64":
            riff.ds64 = struct.unpack_from("<QQQI", data, pos + 8)
        if fourcc == b"data" and size == 0xFFFFFFFF:
            size = riff.ds64[1]
        assert pos % 2 == 0, f"{fourcc} starts at odd offset {pos}"
        riff.chunks.append(Chunk(fourcc, pos, size, header, data[pos + 8: pos + 8 + size]))
        if size % 2:
            assert data[pos + 8 + size] == 0, "pad byte must be zero"
        pos += 8 + size + size % 2
    assert pos == len(data), "chunks must fill the file exactly"
    riff_size = riff.ds64[0] if kind == b"RF64" else header_size
    assert riff_size == len(data) - 8

    if b"cue " in riff.ids():
        body = riff.chunk(b"cue ").body
        (count,) = struct.unpack_from("<I", body, 0)
        assert len(body) == 4 + 24 * count
        for i in range(count):
            cue_id, position, chunk_id, chunk_start, block_start, offset = struct.unpack_from(
                "<II4sIII", body, 4 + 24 * i)
            assert (chunk_id, chunk_start, block_start, position) == (b"data", 0, 0, offset)
            riff.cues[cue_id] = offset
    if b"LIST" in riff.ids():
        body = riff.chunk(b"LIST").body
        assert body[:4] == b"adtl"
        pos = 4
        while pos < len(body):
            fourcc, size = struct.unpack_from("<4sI", body, pos)
            sub = body[pos + 8: pos + 8 + size]
            if fourcc == b"labl":
                assert sub.endswith(b"\0")
                riff.labels[struct.unpack_from("<I", sub)[0]] = sub[4:-1].decode("utf-8")
            else:
                assert fourcc == b"ltxt" and size == 20
                cue_id, length, purpose, country, lang, dialect, codepage = struct.unpack("<II4sHHHH", sub)
                assert (purpose, country, lang, dialect, codepage) == (b"rgn ", 0, 0, 0, 0)
                riff.lengths[cue_id] = length
            pos += 8 + size + size % 2
        assert pos == len(body)
    return riff


def regions_of(riff: Riff) -> list[tuple[str, int, int]]:
    return [(riff.labels[i], riff.cues[i], riff.cues[i] + riff.lengths.get(i, 0)) for i in sorted(riff.cues)]


# --- fixtures ----------------------------------------------------------------------------------------


def make_source(path: Path, seconds: float = 3.0, rate: int = 48000, channels: int = 2, subtype: str = "PCM_16",
                fmt: str | None = None) -> np.ndarray:
    rng = np.random.default_rng(7)
    frames = int(round(seconds * rate))
    audio = (rng.uniform(-0.9, 0.9, (frames, channels))).astype(np.float64)
    sf.write(path, audio, rate, subtype=subtype, format=fmt)
    return audio


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


REGIONS = [
    Region("clarinet", 0.0, 1.0, 0.9),  # at time 0
    Region("Flöte – 笛", 0.5, 2.2500104),
    Region("violin", 2.0, 3.0, 0.7),  # ends at the very end
]


# --- tests -------------------------------------------------------------------------------------------


def test_round_trip_labels_times_and_samples(tmp_path: Path) -> None:
    src = tmp_path / "Aufnahme – Flöte 🎵.wav"
    make_source(src)
    before = digest(src)
    out = export_regions("wav", REGIONS, tmp_path / "mit Markern ✓.wav", source_audio=src)
    assert digest(src) == before  # the recording is never touched

    riff = parse_wav(out.read_bytes())
    assert riff.kind == b"RIFF"
    assert riff.ids() == [b"JUNK", b"fmt ", b"data", b"cue ", b"LIST"]
    got = regions_of(riff)
    assert [g[0] for g in got] == [r.label for r in REGIONS]
    for (_, start, end), r in zip(got, REGIONS, strict=True):
        assert abs(start - r.start * 48000) <= 1 and abs(end - r.end * 48000) <= 1
    assert got[-1][2] == 3 * 48000  # end == duration lands on the last frame boundary

    a, _ = sf.read(src, dtype="int16")
    b, rate = sf.read(out, dtype="int16")
    assert rate == 48000 and np.array_equal(a, b)


MIXED = [Region("clarinet", 0.5, 1.0), Region("hit", 1.25, 1.25), Region("violin", 1.5, 2.5),
         Region("Flöte – 笛", 2.0, 2.75)]  # regions and a point marker between them


def test_libsndfile_reads_every_name(tmp_path: Path) -> None:
    """libsndfile stops collecting names at the first 'ltxt': all 'labl' entries must come first."""
    src = tmp_path / "take.wav"
    make_source(src)
    out = export_regions("wav", MIXED, tmp_path / "marked.wav", source_audio=src)
    assert libsndfile_cues(out) == [(round(r.start * 48000), r.label) for r in MIXED]


@pytest.mark.skipif(FFPROBE is None, reason="ffprobe (Debian package ffmpeg) is not installed")
def test_ffmpeg_reads_every_name(tmp_path: Path) -> None:
    src = tmp_path / "take.wav"
    make_source(src)
    out = export_regions("wav", MIXED, tmp_path / "marked.wav", source_audio=src)
    chapters = ffprobe_chapters(out)  # FFmpeg reads the starts and names only (no 'ltxt' lengths)
    assert [title for _, _, title in chapters] == [r.label for r in MIXED]
    assert [start for start, _, _ in chapters] == pytest.approx([r.start for r in MIXED], abs=1e-4)


def test_byte_layout_of_fmt_cue_and_list(tmp_path: Path) -> None:
    src = tmp_path / "mono24.wav"
    make_source(src, seconds=0.001, rate=1001, channels=1, subtype="PCM_24")  # 1 frame: 3 data bytes, padded
    regions = [Region("ab", 0.0, 0.0), Region("abc", 0.0, 0.001)]  # labl bodies of 7 (padded) and 8 bytes
    out = export_regions("wav", regions, tmp_path / "o.wav", source_audio=src)
    data = out.read_bytes()
    riff = parse_wav(data)

    assert data[:4] == b"RIFF" and struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    junk = riff.chunk(b"JUNK")
    assert (junk.offset, junk.size, junk.body) == (12, 28, bytes(28))
    assert riff.chunk(b"fmt ").body == struct.pack("<HHIIHH", 1, 1, 1001, 3003, 3, 24)
    data_chunk = riff.chunk(b"data")
    assert data_chunk.size == 3 and data[data_chunk.offset + 11] == 0  # odd data padded with a zero byte

    cue = riff.chunk(b"cue ")
    assert cue.offset == data_chunk.offset + 12  # 8 header + 3 data + 1 pad
    assert cue.body == (struct.pack("<I", 2)
                        + struct.pack("<II4sIII", 1, 0, b"data", 0, 0, 0)
                        + struct.pack("<II4sIII", 2, 0, b"data", 0, 0, 0))
    list_chunk = riff.chunk(b"LIST")
    expected_list = (b"adtl"
                     + b"labl" + struct.pack("<I", 7) + struct.pack("<I", 1) + b"ab\0" + b"\0"
                     + b"labl" + struct.pack("<I", 8) + struct.pack("<I", 2) + b"abc\0"
                     + b"ltxt" + struct.pack("<I", 20) + struct.pack("<II", 2, 1) + b"rgn " + bytes(8))
    assert list_chunk.body == expected_list and list_chunk.header_size == len(expected_list)
    assert riff.lengths == {2: 1}  # the point marker has no ltxt


@pytest.mark.parametrize(("subtype", "channels", "frames", "fmt_tag", "fact"), [
    ("PCM_U8", 1, 4801, 1, False),
    ("PCM_16", 2, 4800, 1, False),
    ("PCM_24", 1, 4801, 1, False),
    ("PCM_32", 2, 4800, 1, False),
    ("FLOAT", 1, 4801, 3, True),
    ("DOUBLE", 2, 4800, 3, True),
    ("PCM_24", 3, 4800, 0xFFFE, False),  # more than two channels: WAVE_FORMAT_EXTENSIBLE
    ("FLOAT", 6, 4800, 0xFFFE, True),
])
def test_sample_formats_are_copied_exactly(tmp_path: Path, subtype: str, channels: int, frames: int,
                                           fmt_tag: int, fact: bool) -> None:
    src = tmp_path / "s.wav"
    make_source(src, seconds=frames / 48000, channels=channels, subtype=subtype)
    out = export_regions("wav", [Region("x", 0.01, 0.05)], tmp_path / "o.wav", source_audio=src)
    riff = parse_wav(out.read_bytes())
    tag, ch, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", riff.chunk(b"fmt ").body)
    assert (tag, ch, rate, byte_rate, align * 8 // ch) == (fmt_tag, channels, 48000, 48000 * align, bits)
    if fact:
        assert struct.unpack("<I", riff.chunk(b"fact").body) == (frames,)
    assert riff.chunk(b"data").size == frames * align
    assert sf.info(out).subtype == subtype and sf.info(out).frames == frames
    a, _ = sf.read(src, dtype="float64")
    b, _ = sf.read(out, dtype="float64")
    assert np.array_equal(a, b)
    assert regions_of(riff) == [("x", 480, 2400)]


@pytest.mark.parametrize(("fmt", "subtype", "ext", "expect"), [
    ("FLAC", "PCM_16", "flac", "PCM_16"),
    ("FLAC", "PCM_24", "flac", "PCM_24"),
    ("AIFF", "PCM_16", "aiff", "PCM_16"),
    ("RF64", "PCM_16", "wav", "PCM_16"),
    ("OGG", "VORBIS", "ogg", "FLOAT"),
    ("MP3", "MPEG_LAYER_III", "mp3", "FLOAT"),
])
def test_other_source_formats(tmp_path: Path, fmt: str, subtype: str, ext: str, expect: str) -> None:
    src = tmp_path / f"src.{ext}"
    make_source(src, seconds=1.0, rate=44100, fmt=fmt, subtype=subtype)
    out = export_regions("wav", [Region("piano", 0.25, 0.75)], tmp_path / "o.wav", source_audio=src)
    assert sf.info(out).subtype == expect and sf.info(out).samplerate == 44100
    dtype = "float32" if expect == "FLOAT" else "float64"
    a, _ = sf.read(src, dtype=dtype)
    b, _ = sf.read(out, dtype=dtype)
    assert np.array_equal(a, b)
    assert regions_of(parse_wav(out.read_bytes())) == [("piano", 11025, 33075)]


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_rf64_when_the_size_passes_the_limit(tmp_path: Path, subtype: str) -> None:
    src = tmp_path / "s.wav"
    make_source(src, seconds=0.5, rate=8000, subtype=subtype)
    markers = prepare_markers([Region("Geige", 0.125, 0.5)])
    out = tmp_path / "big.wav"
    with open(out, "wb") as f:
        write_wav_with_markers(f, src, markers, rf64_threshold=1000, block_frames=1000)
    data = out.read_bytes()
    riff = parse_wav(data)
    assert riff.kind == b"RF64" and riff.header_size == 0xFFFFFFFF
    assert riff.ids()[0] == b"ds64"
    align = 2 * (2 if subtype == "PCM_16" else 4)
    assert riff.ds64 == (len(data) - 8, 4000 * align, 4000, 0)
    assert riff.chunk(b"data").header_size == 0xFFFFFFFF
    if subtype == "FLOAT":
        assert riff.chunk(b"fact").body == b"\xff\xff\xff\xff"
    assert regions_of(riff) == [("Geige", 1000, 4000)]
    assert sf.info(out).format == "RF64"
    assert np.array_equal(sf.read(src, dtype="float64")[0], sf.read(out, dtype="float64")[0])


def test_zero_regions_write_no_marker_chunks(tmp_path: Path) -> None:
    src = tmp_path / "s.wav"
    make_source(src, seconds=0.2)
    out = export_regions("wav", [], tmp_path / "o.wav", source_audio=src)
    riff = parse_wav(out.read_bytes())
    assert riff.ids() == [b"JUNK", b"fmt ", b"data"]
    assert np.array_equal(sf.read(src, dtype="int16")[0], sf.read(out, dtype="int16")[0])


def test_thousands_of_regions_with_template(tmp_path: Path) -> None:
    src = tmp_path / "s.wav"
    make_source(src, seconds=60.0, rate=8000, channels=1)
    regions = [Region("trumpet" if i % 2 else "flute", i * 0.012, i * 0.012 + 0.5) for i in range(5000)]
    out = export_regions("wav", regions, tmp_path / "o.wav", source_audio=src,
                         options=ExportOptions(name_template="{label} {n}"))
    got = regions_of(parse_wav(out.read_bytes()))
    assert len(got) == 5000
    assert got[0] == ("flute 1", 0, 4000) and got[-1] == ("trumpet 2500", 479_904, 480_000)  # end clamped to the last frame


def test_regions_past_the_end_are_cut_there_or_left_out(tmp_path: Path) -> None:
    """A region running past the end is cut at the last frame; one starting after it (a JSON of a longer
    recording) is left out rather than turned into a marker at the end, where nothing of it was."""
    src = tmp_path / "s.wav"
    make_source(src, seconds=1.0, rate=8000)
    out = export_regions("wav", [Region("a", 0.5, 1.0000001), Region("b", 2.0, 3.0), Region("c", 1.0, 1.0)],
                         tmp_path / "o.wav", source_audio=src)
    assert regions_of(parse_wav(out.read_bytes())) == [("a", 4000, 8000), ("c", 8000, 8000)]


def test_refuses_to_write_over_the_recording(tmp_path: Path) -> None:
    src = tmp_path / "take.wav"
    make_source(src, seconds=0.1)
    before = digest(src)
    with pytest.raises(ExportError, match="refusing to overwrite the recording"):
        export_regions("wav", REGIONS, tmp_path / "." / "take.wav", source_audio=src)
    assert digest(src) == before


def test_missing_or_unreadable_source(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="needs the source recording"):
        export_regions("wav", REGIONS, tmp_path / "o.wav")
    with pytest.raises(ExportError, match="needs the source recording"):
        export_regions("wav", REGIONS, tmp_path / "o.wav", source_audio=tmp_path / "nope.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(ExportError, match=r"cannot read .*text\.wav"):
        export_regions("wav", REGIONS, tmp_path / "o.wav", source_audio=tmp_path / "text.wav")
    assert not (tmp_path / "o.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.wav"]


def test_cancel_mid_copy_keeps_the_old_export(tmp_path: Path) -> None:
    src = tmp_path / "s.wav"
    make_source(src, seconds=4.0)  # several 65536-frame blocks at 48 kHz
    target = tmp_path / "o.wav"
    target.write_bytes(b"previous export")
    calls = []

    def cancel_on_third_check() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(ExportCancelled):
        export_regions("wav", REGIONS, target, source_audio=src, should_cancel=cancel_on_third_check)
    assert len(calls) == 3
    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.wav", "s.wav"]
