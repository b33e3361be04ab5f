"""Sessions: one edited analysis of one recording, saved and reopened without re-running the model (no Qt).

A session is a JSON file (``.stsession``) beside an optional ``.npz`` cache of view summaries:

* ``source``: the recording's absolute path, its path relative to the session file (found again when
  a folder holding both moves), and a content fingerprint (see :func:`content_hash`);
* the analysis: model, device, hop, window, labels, ``times`` and ``activity`` (inline, so
  ``studio-tagger export SESSION`` can use it), and the region parameters;
* ``edits``: what the user changed, as a list of :class:`Edit` applied over the detected regions, and
  ``regions``: the result, for tools that read regions only;
* ``view``: visible range, playhead, selected instrument.

User edits are an overlay, not a copy of the regions: detected regions are recomputed from the
activity whenever thresholds change, then every edit is applied on top (:func:`apply_edits`). An
edited or added region is frozen as the user left it, and a region the user deleted or changed
suppresses any detected region of that instrument that overlaps it, so edits survive new thresholds.

Both files are written atomically; the cache is optional and ignored when it does not match.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .analysis.regions import Region, RegionParams, file_regions
from .atomic import atomic_write
from .jsontext import json_text

SESSION_FORMAT = "studio-tagger-session"
SESSION_VERSION = 1
SESSION_SUFFIX = ".stsession"
_HASH_PIECE = 1 << 20


class SessionError(Exception):
    """A session that cannot be read; one line naming the file and why."""


def content_hash(path: str | os.PathLike) -> str:
    """A fingerprint of a recording: SHA-256 of its size and of 1 MiB at its start, middle and end.

    Reading a 2-hour take whole would take seconds; any re-render, trim or replacement changes the
    size or one of the three pieces (the header alone changes with the length), so this tells a
    changed file from the same one while keeping reopening instant.
    """
    p = Path(path)
    size = p.stat().st_size
    digest = hashlib.sha256(f"{size}:".encode())
    with open(p, "rb") as f:
        for offset in sorted({0, max(0, size // 2 - _HASH_PIECE // 2), max(0, size - _HASH_PIECE)}):
            f.seek(offset)
            digest.update(f.read(_HASH_PIECE))
    return "sha256-3x1MiB:" + digest.hexdigest()


@dataclass(frozen=True)
class Edit:
    """One user change: ``add`` (new), ``delete`` (old) or ``replace`` (old -> new: drag, relabel)."""

    kind: str
    old: Region | None = None
    new: Region | None = None

    def __post_init__(self) -> None:
        needs = {"add": (False, True), "delete": (True, False), "replace": (True, True)}
        if self.kind not in needs or needs[self.kind] != (self.old is not None, self.new is not None):
            raise ValueError(f"malformed edit {self.kind!r}")

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind}
        if self.old is not None:
            d["old"] = self.old.to_dict()
        if self.new is not None:
            d["new"] = self.new.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Edit:
        """Raises KeyError, TypeError or ValueError for anything but a well-formed edit."""
        if not isinstance(d, dict):
            raise TypeError(f"an edit must be an object, not {type(d).__name__}")
        return cls(str(d["kind"]), _region(d["old"]) if d.get("old") else None,
                   _region(d["new"]) if d.get("new") else None)


def _finite(value: object, what: str) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{what} is {number}")
    return number


def _region(d: object) -> Region:
    if not isinstance(d, dict):
        raise TypeError(f"a region must be an object, not {type(d).__name__}")
    region = Region.from_dict(d)
    if not (0.0 <= _finite(region.start, "a region start") <= _finite(region.end, "a region end")):
        raise ValueError(f"region {region.start}..{region.end} s")
    _finite(region.score, "a region score")
    return region


def _overlaps(a: Region, b: Region) -> bool:
    return a.label == b.label and a.start < b.end and b.start < a.end


def apply_edits(detected: Sequence[Region], edits: Sequence[Edit]) -> list[Region]:
    """The regions a user sees: detected ones, minus what edits suppress, plus the edited ones."""
    user: list[Region] = []
    suppressed: list[Region] = []
    for e in edits:
        if e.old is not None:
            if e.old in user:
                user.remove(e.old)  # an edit of the user's own region
            else:
                suppressed.append(e.old)
        if e.new is not None:
            user.append(e.new)
    kept = [d for d in detected if not any(_overlaps(d, x) for x in (*user, *suppressed))]
    return sorted([*kept, *user], key=lambda r: (r.start, r.label, r.end))


def params_to_dict(params: RegionParams) -> dict:
    d = asdict(params)
    d["per_label"] = {k: [float(on), float(off)] for k, (on, off) in params.per_label.items()}
    return d


def params_from_dict(d: dict, saved: bool = False) -> RegionParams:
    """Raises TypeError or ValueError (never anything else) for malformed parameters. ``saved``: the
    parameters a session or autosave was written with; one written before regions under a stronger lane
    were dropped (no ``shadow_margin``) reopens with nothing dropped, as its regions were then."""
    if not isinstance(d, dict) or not isinstance(d.get("per_label", {}), dict):
        raise TypeError("region parameters must be an object")
    params = RegionParams()
    for key in ("smoothing", "threshold_on", "threshold_off", "min_duration", "merge_gap", "shadow_margin",
                "shadow_overlap"):
        if key in d:
            setattr(params, key, _finite(d[key], key))
    per_label = {}
    for label, pair in d.get("per_label", {}).items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"thresholds of {label!r} must be [on, off]")
        per_label[str(label)] = (_finite(pair[0], "a threshold"), _finite(pair[1], "a threshold"))
    params.per_label = per_label
    if saved and "shadow_margin" not in d:
        params.shadow_margin = 0.0
    return params


def _view(value: object) -> dict:
    """The saved view, keeping only what the app can use (a damaged view is not worth refusing a session)."""
    if not isinstance(value, dict):
        return {}
    view: dict = {}
    for key in ("start", "end", "playhead"):
        number = value.get(key)
        if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number):
            view[key] = float(number)
    if isinstance(value.get("label"), str):
        view["label"] = value["label"]
    return view


@dataclass
class Session:
    source: Path
    source_hash: str
    duration: float
    sample_rate: int
    model: str
    labels: tuple[str, ...]
    hop: float
    times: np.ndarray
    activity: np.ndarray
    window: float = 2.0
    model_path: str | None = None
    device: str = "auto"
    params: RegionParams = field(default_factory=RegionParams)
    edits: list[Edit] = field(default_factory=list)
    view: dict = field(default_factory=dict)
    cache: dict[str, np.ndarray] = field(default_factory=dict)  # view summaries (peaks, spectrogram)
    source_relative: str | None = None  # the recording relative to the session file's folder, as loaded
    # Spans the editor checked through "Next Span to Check" (seconds); adapting learns from these and the
    # edited regions when there are any, from the whole recording when not.
    checked: list[tuple[float, float]] = field(default_factory=list)

    def source_candidates(self, session_path: str | os.PathLike) -> list[Path]:
        """Where the recording may be, best first: its absolute path, then the saved path relative to
        the session's folder (both moved together), then beside the session."""
        folder = Path(session_path).absolute().parent
        found = [self.source]
        if self.source_relative:
            found.append(Path(os.path.normpath(folder / self.source_relative)))
        found.append(folder / self.source.name)
        return list(dict.fromkeys(found))

    def detected(self) -> list[Region]:
        """The regions the analysis shows before the user's edits; none for a recording shorter than one
        window, as `AnalysisResult.regions` (a region over padding is not a finding)."""
        return file_regions(self.times, self.activity, self.labels, self.params, self.duration, self.window)

    def regions(self) -> list[Region]:
        return apply_edits(self.detected(), self.edits)

    def matches_source(self) -> bool:
        """The recording is where the session says, with the same content."""
        try:
            return content_hash(self.source) == self.source_hash
        except OSError:
            return False


def cache_path(session_path: str | os.PathLike) -> Path:
    p = Path(session_path)
    return p.with_name(p.name + "-cache.npz")


def save_session(session: Session, path: str | os.PathLike) -> Path:
    """Write the session (and its cache, when it has one) atomically; returns the session path."""
    target = Path(path)
    # Absolute: a path as typed on the command line is relative to a working directory the session
    # knows nothing about once reopened from elsewhere.
    source = Path(os.path.abspath(session.source))
    try:
        relative: str | None = os.path.relpath(source, Path(os.path.abspath(target)).parent)
    except ValueError:  # on another drive (Windows): there is no relative path
        relative = None
    data = {
        "format": SESSION_FORMAT, "version": SESSION_VERSION,
        "source": {"path": str(source), "relative": relative, "hash": session.source_hash},
        "file": str(source), "duration": session.duration, "sample_rate": session.sample_rate,
        "model": session.model, "model_path": session.model_path, "device": session.device,
        "labels": list(session.labels), "hop": session.hop, "window": session.window,
        "params": params_to_dict(session.params),
        "edits": [e.to_dict() for e in session.edits],
        "checked": [[round(float(a), 6), round(float(b), 6)] for a, b in session.checked],
        "regions": [r.to_dict() for r in session.regions()],
        "view": session.view,
        "times": [round(float(t), 6) for t in session.times],
        "activity": np.round(np.asarray(session.activity, np.float64), 5).tolist(),
    }
    if session.cache:
        data["cache"] = {"file": cache_path(target).name, "hash": session.source_hash}
        with atomic_write(cache_path(target), "wb") as f:
            np.savez(f, **session.cache)
    with atomic_write(target, "w") as f:
        f.write(json_text(data))
        f.write("\n")
    return target


def load_session(path: str | os.PathLike) -> Session:
    """Read a session; a missing or stale cache is dropped silently (views rebuild it)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8", errors="surrogateescape"))
    except FileNotFoundError as exc:
        raise SessionError(f"{p}: no such file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SessionError(f"{p}: not a studio-tagger session ({_one_line(exc)})") from exc
    if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
        raise SessionError(f"{p}: not a studio-tagger session")
    try:
        session = _session_from(data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SessionError(f"{p}: session is incomplete or malformed ({_one_line(exc)})") from exc
    except _NewerVersion as exc:
        raise SessionError(f"{p}: saved by a newer studio-tagger (session version {exc})") from None
    if len(session.times) != len(session.activity):
        raise SessionError(f"{p}: session has {len(session.times)} times but {len(session.activity)} activity rows")
    cache = data.get("cache")
    if isinstance(cache, dict) and cache.get("hash") == session.source_hash and isinstance(cache.get("file"), str):
        try:
            with np.load(p.with_name(Path(cache["file"]).name)) as npz:
                session.cache = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError, EOFError):
            session.cache = {}
    return session


class _NewerVersion(Exception):
    pass


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _session_from(data: dict) -> Session:
    version = int(data.get("version", 0))
    if version > SESSION_VERSION:
        raise _NewerVersion(version)
    source = data["source"]
    if not isinstance(source, dict) or not isinstance(source["path"], str):
        raise TypeError("source must name the recording's path")
    source_hash = str(source["hash"])
    labels = tuple(str(x) for x in data["labels"])
    if not labels:
        raise ValueError("no labels")
    times = np.asarray(data["times"], np.float64)
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused just below
        activity = np.asarray(data["activity"], np.float32).reshape(-1, len(labels))
    if times.ndim != 1 or not (np.isfinite(times).all() and np.isfinite(activity).all()):
        raise ValueError("times and activity must be finite numbers")
    if len(times) and (times[0] <= 0 or np.any(np.diff(times) <= 0)):
        raise ValueError("times must be positive and increasing")
    hop = _finite(data["hop"], "hop")
    if hop <= 0:
        raise ValueError(f"hop is {hop}")
    edits = data.get("edits", [])
    if not isinstance(edits, list):
        raise TypeError("edits must be a list")
    checked = data.get("checked", [])
    if not isinstance(checked, list):
        raise TypeError("checked must be a list of [start, end] spans")
    model_path = data.get("model_path")
    relative = source.get("relative")
    return Session(
        source=Path(source["path"]), source_hash=source_hash, duration=abs(_finite(data["duration"], "duration")),
        sample_rate=int(data["sample_rate"]), model=str(data["model"]), labels=labels, hop=hop, times=times,
        activity=activity, window=_finite(data.get("window", 2.0), "window"),
        model_path=model_path if isinstance(model_path, str) else None, device=str(data.get("device", "auto")),
        params=params_from_dict(data.get("params", {}), saved=True), edits=[Edit.from_dict(e) for e in edits],
        view=_view(data.get("view")), source_relative=relative if isinstance(relative, str) else None,
        checked=[_span(x) for x in checked],
    )


def _span(value: object) -> tuple[float, float]:
    """A checked span: two finite times, the first before the second; raises TypeError or ValueError."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError(f"a checked span must be [start, end], not {value!r}"[:120])
    start, end = _finite(value[0], "a checked span's start"), _finite(value[1], "a checked span's end")
    if not 0.0 <= start < end:
        raise ValueError(f"checked span {start}..{end} s")
    return start, end
