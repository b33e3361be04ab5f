"""Autosave files without the app: one per process, a running instance's left alone, older files still read."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from studio_tagger.analysis.regions import Region
from studio_tagger.autosave import (
    AUTOSAVE_FORMAT,
    Autosave,
    autosave_path,
    autosaved_elsewhere,
    read_autosave,
    remove_autosave,
    write_autosave,
)
from studio_tagger.session import Edit

posix_only = pytest.mark.skipif(os.name != "posix", reason="whether another process runs is asked on POSIX only")


def _edits(label: str) -> list[Edit]:
    return [Edit("add", new=Region(label, 1.0, 4.0, 1.0))]


def _foreign(path: Path, recording: Path, label: str, saved_at: float, **owner) -> None:
    """An autosave file as another process (or an older release, without ``owner``) wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "format": AUTOSAVE_FORMAT, "recording": str(recording), "source_hash": "h", "session": None,
        "saved_at": saved_at, "params": {}, "edits": [e.to_dict() for e in _edits(label)], **owner,
    }), encoding="utf-8")


def test_this_process_writes_its_own_file_and_reads_it_back(tmp_path):
    recording = tmp_path / "take.wav"
    path = write_autosave(tmp_path / "auto", Autosave(recording, "h", _edits("flute")))
    assert path == autosave_path(tmp_path / "auto", recording) and str(os.getpid()) in path.name
    saved = read_autosave(tmp_path / "auto", recording)
    assert saved is not None and saved.edits == _edits("flute") and saved.path == path
    remove_autosave(tmp_path / "auto", recording)
    assert not path.exists() and read_autosave(tmp_path / "auto", recording) is None


def test_an_older_releases_single_file_is_still_offered_and_removed(tmp_path):
    recording = tmp_path / "take.wav"
    legacy = autosave_path(tmp_path, recording).with_name(autosave_path(tmp_path, recording).name.split(".")[0]
                                                          + ".autosave.json")
    _foreign(legacy, recording, "violin", 100.0)
    saved = read_autosave(tmp_path, recording)
    assert saved is not None and saved.edits == _edits("violin")
    remove_autosave(tmp_path, recording)
    assert not legacy.exists()


@posix_only
def test_a_running_instances_file_is_neither_offered_nor_removed(tmp_path):
    recording = tmp_path / "take.wav"
    running = os.getppid()  # alive while this test runs
    theirs = autosave_path(tmp_path, recording, pid=running)
    _foreign(theirs, recording, "trumpet", 2e9, pid=running, host=socket.gethostname())
    dead = autosave_path(tmp_path, recording, pid=2**22 + 7)  # above Linux's largest process id
    _foreign(dead, recording, "piano", 100.0, pid=2**22 + 7, host=socket.gethostname())
    assert autosaved_elsewhere(tmp_path, recording) == 1
    saved = read_autosave(tmp_path, recording)  # the newer file is the running one's: the dead one is offered
    assert saved is not None and saved.edits == _edits("piano") and saved.path == dead
    write_autosave(tmp_path, Autosave(recording, "h", _edits("flute"), saved_at=200.0))
    assert read_autosave(tmp_path, recording).edits == _edits("flute")  # the newest that may be offered
    remove_autosave(tmp_path, recording)
    assert theirs.exists() and not dead.exists() and not autosave_path(tmp_path, recording).exists()
    # From another machine sharing the folder nothing can be asked: such a file counts as a leftover.
    _foreign(dead, recording, "piano", 100.0, pid=running, host=socket.gethostname() + "-other")
    assert read_autosave(tmp_path, recording).edits == _edits("piano")
