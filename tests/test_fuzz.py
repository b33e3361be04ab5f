"""Fuzzing the loaders users feed files to: audio, sessions and every marker importer.

Whatever the bytes, each loader either succeeds or raises its documented one-line error (AudioError,
SessionError, MarkerFileError); never another exception, never a hang (pytest-timeout, set in
pyproject.toml, turns a hang into a failure). CI runs a bounded, derandomised number of examples; a
longer, random run (no per-test timeout; failures are printed by hypothesis and kept in its database):

    STUDIO_TAGGER_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q --timeout=0 -o faulthandler_timeout=0 tests/test_fuzz.py

"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio_tagger.audio import AudioError, iter_blocks, probe
from studio_tagger.interchange import FORMATS, MarkerFileError, import_regions
from studio_tagger.session import Session, SessionError, load_session, save_session

EXAMPLES = int(os.environ.get("STUDIO_TAGGER_FUZZ_EXAMPLES", "0"))
LONG_RUN = EXAMPLES > 0
FUZZ = settings(
    max_examples=EXAMPLES or 200, deadline=None, derandomize=not LONG_RUN, database=None if not LONG_RUN else
    settings.default.database, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


_WORK = tempfile.TemporaryDirectory(prefix="studio-tagger-fuzz-")


def _file(name: str, data: bytes) -> Path:
    path = Path(_WORK.name) / name
    path.write_bytes(data)
    return path


# --- audio ------------------------------------------------------------------------------------------

def _valid(fmt: str, subtype: str, seconds: float = 0.2, rate: int = 22050, channels: int = 2) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    sf.write(buf, (0.3 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32), rate,
             format=fmt, subtype=subtype)
    return buf.getvalue()


SEEDS = {
    "wav": _valid("WAV", "PCM_16"), "wavf": _valid("WAV", "FLOAT"), "flac": _valid("FLAC", "PCM_16"),
    "rf64": _valid("RF64", "PCM_24"), "w64": _valid("W64", "PCM_16"), "aiff": _valid("AIFF", "PCM_16"),
}


def _read_all(path: Path) -> None:
    probe(path)
    for block in iter_blocks(path, 16000, block_seconds=0.05):
        assert block.dtype == np.float32 and np.isfinite(block).all()


def _expect_audio_error(data: bytes, suffix: str) -> None:
    path = _file(f"fuzz{suffix}", data)
    try:
        _read_all(path)
    except AudioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ""]))
def test_audio_loader_on_random_bytes(data, suffix):
    _expect_audio_error(data, suffix)


@st.composite
def mutated_audio(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    header = draw(st.sampled_from([64, 128, len(data)]))  # mostly the header, sometimes anywhere
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, min(header, len(data)) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return name, bytes(data)


@FUZZ
@given(mutated_audio())
def test_audio_loader_on_mutated_files(sample):
    name, data = sample
    _expect_audio_error(data, f".{name}")


# --- sessions ---------------------------------------------------------------------------------------

def _valid_session() -> dict:
    path = _file("take.wav", SEEDS["wav"])
    times = (np.arange(4) + 0.5) * 0.5
    session = Session(source=path, source_hash="sha256-3x1MiB:0", duration=2.0, sample_rate=22050, model="m",
                      labels=("flute", "piano"), hop=0.5, times=times, activity=np.full((4, 2), 0.7, np.float32))
    from studio_tagger.analysis.regions import Region
    from studio_tagger.session import Edit

    session.edits = [Edit("add", new=Region("flute", 0.1, 0.9)), Edit("delete", old=Region("piano", 0.0, 2.0))]
    session.view = {"start": 0.0, "end": 2.0, "playhead": 1.0, "label": "flute"}
    target = Path(_WORK.name) / "valid.stsession"
    save_session(session, target)
    return json.loads(target.read_text(encoding="utf-8"))


VALID_SESSION = _valid_session()
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _paths(value, prefix=()):
    """Every (key path) inside a JSON value, so a mutation can reach deep fields."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield from _paths(v, (*prefix, i))


SESSION_PATHS = [p for p in _paths(VALID_SESSION) if p]


@st.composite
def mutated_session(draw):
    doc = json.loads(json.dumps(VALID_SESSION))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(SESSION_PATHS))
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(where[-1], None)
            else:
                parent[where[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    return json.dumps(doc, allow_nan=True)


def _expect_session_error(text: bytes) -> None:
    path = _file("fuzz.stsession", text)
    try:
        session = load_session(path)
    except SessionError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return
    session.regions()  # what the app and `export` do next must work too
    assert all(isinstance(v, (int, float, str)) for v in session.view.values())


@FUZZ
@given(mutated_session())
def test_session_loader_on_mutated_sessions(text):
    _expect_session_error(text.encode("utf-8"))


@FUZZ
@given(st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode), json_values.map(
    lambda v: json.dumps(v).encode())))
def test_session_loader_on_random_input(data):
    _expect_session_error(data)


# --- marker importers -------------------------------------------------------------------------------

IMPORTERS = sorted(name for name, spec in FORMATS.items() if spec.can_import)
_LINE_PIECES = st.sampled_from(["\t", ",", ";", "\n", "\r\n", '"', ":", ".", "-", "R1", "M2", "#", "Name", "Start",
                                "decimal", "Cue", "time", "value", "duration", "label", "start", "end", "1.5",
                                "0:01.250", "nan", "inf", "-3", "1e309", "\\", "\x00", "é", "{", "}", "[", "]"])
marker_text = st.lists(_LINE_PIECES | st.text(max_size=5), max_size=60).map("".join)


def _expect_marker_error(data: bytes, fmt: str | None, suffix: str) -> None:
    path = _file(f"fuzz{suffix}", data)
    try:
        regions = import_regions(path, fmt)
    except MarkerFileError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return
    for r in regions:
        assert isinstance(r.label, str) and 0.0 <= r.start <= r.end < float("inf")


@FUZZ
@given(st.sampled_from(IMPORTERS), st.one_of(marker_text.map(str.encode), st.binary(max_size=1000)))
def test_every_importer_on_random_input(fmt, data):
    _expect_marker_error(data, fmt, f".{FORMATS[fmt].extensions[0].lstrip('.')}")


@FUZZ
@given(st.sampled_from([".txt", ".csv", ".json", ".tsv", ".mid", ""]), marker_text.map(str.encode))
def test_import_format_detection_on_random_input(suffix, data):
    _expect_marker_error(data, None, suffix)


SVL_SEED = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sonic-visualiser>\n<sv><data>'
            '<model id="1" sampleRate="RATE" type="sparse" dimensions="3" subtype="region" dataset="0"/>'
            '<dataset id="0" dimensions="3"><point frame="FRAME" value="VALUE" duration="DURATION" label="a"/>'
            '</dataset><model id="3" sampleRate="RATE" type="sparse" dimensions="1" dataset="2"/>'
            '<dataset id="2" dimensions="1"><point frame="FRAME" label="b"/></dataset></data></sv>')
_SVL_VALUES = st.sampled_from(["0", "1", "44100", "-1", "nan", "inf", "1e-300", "1e309", "9" * 400, "x", "", "0x10",
                               "1_000", " 7 ", "&amp;", "&#0;"])


@FUZZ
@given(st.fixed_dictionaries({key: _SVL_VALUES for key in ("RATE", "FRAME", "VALUE", "DURATION")}))
def test_svl_importer_on_mutated_layers(values):
    text = SVL_SEED
    for key, value in values.items():
        text = text.replace(key, value)
    _expect_marker_error(text.encode(), None, ".svl")


def test_the_corpus_of_seeds_is_valid():
    """The mutation seeds themselves load (so mutations start from real files)."""
    for name, data in SEEDS.items():
        _read_all(_file(f"seed.{name}", data))
    assert load_session(_file("seed.stsession", json.dumps(VALID_SESSION).encode())).edits


@pytest.mark.parametrize("fmt", IMPORTERS)
def test_importers_are_all_fuzzed(fmt):
    assert FORMATS[fmt].read is not None
