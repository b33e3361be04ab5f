"""The user's recording is never written: its bytes hash the same before and after every operation."""

from __future__ import annotations

import hashlib

import pytest
from audiogen import tone_burst

from studio_tagger.analysis import Analyzer
from studio_tagger.cli import main
from studio_tagger.interchange import FORMATS
from studio_tagger.session import Session, content_hash, load_session, save_session


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def recording(write_audio):
    return write_audio("take 1 ü.wav", tone_burst(8.0, 48000, 2.0, 5.0, channels=2), 48000, subtype="PCM_24")


def test_cli_commands_and_every_export_leave_the_recording_alone(recording, random_model_path, tmp_path):
    before = _sha(recording)
    model = ["--model", str(random_model_path), "--quiet"]
    assert main(["classify", str(recording), *model, "--json", str(tmp_path / "c.json")]) == 0
    assert _sha(recording) == before
    exports = [f"{name}={tmp_path / ('out-' + name + spec.extensions[0])}" for name, spec in FORMATS.items()]
    argv = ["analyze", str(recording), *model, "--threshold", "0.01", "--json", str(tmp_path / "a.json")]
    assert main(argv + [arg for e in exports for arg in ("--export", e)]) == 0
    assert _sha(recording) == before
    assert all((tmp_path / f"out-{name}{spec.extensions[0]}").stat().st_size > 0 for name, spec in FORMATS.items())
    assert main(["export", str(tmp_path / "a.json"), "--format", "wav", "--out", str(tmp_path / "again.wav")]) == 0
    assert _sha(recording) == before


@pytest.mark.parametrize("flag", ["--json", "--export-audacity", "--export-wav", "--csv"])
def test_an_output_named_like_the_recording_is_refused(flag, recording, random_model_path, capsys):
    before = _sha(recording)
    if flag == "--csv":
        argv = ["classify", str(recording), "--csv", str(recording)]
    elif flag == "--json":
        argv = ["analyze", str(recording), "--json", str(recording)]
    else:
        argv = ["analyze", str(recording), "--export", f"{flag.rsplit('-', 1)[1]}={recording}"]
    assert main([*argv, "--model", str(random_model_path)]) == 1
    assert capsys.readouterr().err == (f"studio-tagger: error: {recording}: is the recording being analysed; "
                                       "choose another output file\n")
    assert _sha(recording) == before


def test_export_command_refuses_to_replace_the_recording(recording, random_model_path, tmp_path, capsys):
    analysis = tmp_path / "a.json"
    assert main(["analyze", str(recording), "--model", str(random_model_path), "--quiet", "--json", str(analysis)]) == 0
    before = _sha(recording)
    for fmt in ("wav", "audacity"):
        assert main(["export", str(analysis), "--format", fmt, "--out", str(recording)]) == 1
        assert capsys.readouterr().err == (f"studio-tagger: error: refusing to overwrite the recording {recording}; "
                                           "choose another file name\n")
    assert _sha(recording) == before


def test_sessions_leave_the_recording_alone(recording, random_model_path, tmp_path):
    before = _sha(recording)
    result = Analyzer(random_model_path, device="cpu").analyze(recording)
    session = Session(source=recording, source_hash=content_hash(recording), duration=result.duration,
                      sample_rate=result.sample_rate, model=result.model, labels=result.labels, hop=result.hop,
                      times=result.times, activity=result.activity)
    path = save_session(session, tmp_path / "take.stsession")
    assert load_session(path).matches_source()
    assert main(["export", str(path), "--format", "wav", "--out", str(tmp_path / "marked.wav")]) == 0
    assert _sha(recording) == before
