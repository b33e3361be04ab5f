"""How the desktop app copes with a long take: time to first picture, GUI stalls, frame times, memory.

    .venv/bin/python benchmarks/app_responsiveness.py                 # 3-hour 48 kHz stereo WAV
    .venv/bin/python benchmarks/app_responsiveness.py --hours 0.1     # a quick check
    .venv/bin/python benchmarks/app_responsiveness.py --keep /tmp/long.wav   # reuse the generated file
    .venv/bin/python benchmarks/app_responsiveness.py --at-launch     # opened while torch still loads

Figures printed (targets from the issue in brackets):
  overview + waveform visible after opening     [<= 2 s]
  first lane results after opening              [<= 3 s]
  longest GUI-thread stall while analysis runs  [<= 100 ms]   (a 5 ms timer probe on the GUI thread)
  pan / zoom frame times at several zoom levels [<= 33 ms]    (range change + full repaint of the views)
  peak resident memory of the process           [<= 1.5 GB]
  adapting to 3 corrections, a new lane from 3 examples: wall time [<= 5 s for 1 h] and the longest
  GUI-thread stall meanwhile [<= 100 ms] (the embeddings come from the analysis just run)

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set. This is a benchmark, not a test:
it asserts nothing. It generates ~2 GB of audio; run it once, not in a loop, on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BLOCK_SECONDS = 60


def generate(path: Path, hours: float, rate: int = 48000) -> None:
    """Tones in passages over noise, written block by block (never whole in memory)."""
    import soundfile as sf

    total = int(hours * 3600 * rate)
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=2, subtype="PCM_16") as f:
        for first in range(0, total, BLOCK_SECONDS * rate):
            n = min(BLOCK_SECONDS * rate, total - first)
            t = (first + np.arange(n)) / rate
            f0 = 110.0 * 2 ** ((first // (BLOCK_SECONDS * rate)) % 24 / 12)
            gate = (np.sin(2 * np.pi * t / 23.0) > 0).astype(np.float32)
            x = (0.3 * np.sin(2 * np.pi * f0 * t) * gate + 0.02 * rng.standard_normal(n)).astype(np.float32)
            f.write(np.stack([x, 0.7 * x], axis=1))


class StallProbe:
    """A GUI-thread timer firing every ``interval`` ms; the longest gap minus the interval is a stall."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer

        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self.at: list[float] = []  # when each gap ended
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last - self.interval)
        self.at.append(now)
        self._last = now


def frame_times(app, window, spans: list[float], steps: int = 30) -> dict[float, list[float]]:
    """For each visible span: pan by 10% and zoom in/out one wheel step, each followed by a repaint."""
    tl = window.timeline
    duration = window.doc.duration
    out: dict[float, list[float]] = {}
    for span in spans:
        span = min(span, duration)
        start = max(0.0, duration / 3 - span / 2)
        tl.set_view(start, start + span)
        app.processEvents()
        tl.viewport().repaint()
        times = []
        for i in range(steps):
            t0 = time.perf_counter()
            x0, x1 = tl.view_range()
            if i % 3 == 2:  # a ctrl+wheel step in, then out again
                tl.wave.getViewBox().zoom(0.8 if i % 6 == 2 else 1.25, (x0 + x1) / 2)
            else:
                shift = 0.1 * (x1 - x0) * (1 if (i // 10) % 2 == 0 else -1)
                tl.set_view(x0 + shift, x1 + shift)
            tl.viewport().repaint()  # one synchronous paint of every plot, as the screen update would do
            times.append(time.perf_counter() - t0)
            app.processEvents()  # outside the timing: excerpt reads and other queued work
        out[span] = times
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="desktop app responsiveness on a long take")
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="generate the take here (or reuse it if it exists)")
    parser.add_argument("--model", default="", help="model (default: shipped)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--at-launch", action="store_true",
                        help="open the take as the window shows, while torch still loads behind it (as "
                             "`studio-tagger FILE` does); by default torch has loaded first, as when a take is "
                             "opened a few seconds after launch")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "long_take.wav"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, args.hours)
            print(f"generated {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
        return run(path, args, Path(tmp))


def run(path: Path, args, tmp: Path) -> int:
    from PySide6.QtCore import QSettings

    from studio_tagger.app.main import load_torch_behind, make_app
    from studio_tagger.app.main_window import MainWindow
    from studio_tagger.app.settings import AppSettings

    # The app's data (autosaves of the edits made below, adapted models) go to the temporary folder: an
    # autosave left in the user's folder would greet the next run with a restore question.
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    app = make_app()
    settings = AppSettings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    settings.model_path, settings.device = args.model, args.device
    window = MainWindow(settings)
    window.resize(1600, 900)
    window.show()
    app.processEvents()
    loading = load_torch_behind(settings.device)  # what the app starts once its window has painted
    if not args.at_launch:
        loading.join()

    marks: dict[str, float] = {}
    probe = StallProbe()

    def first(name: str) -> None:
        marks.setdefault(name, time.perf_counter() - opened)

    def hook() -> None:
        doc = window.doc
        doc.summaryChanged.connect(lambda: doc.peaks.counts[0] > 0 and first("waveform"))
        doc.activityChanged.connect(lambda a, b: first("lanes"))

    window.documentOpened.connect(hook)
    window.analysisFinished.connect(lambda: first("analysis done"))
    window.summaryFinished.connect(lambda: first("summary done"))
    probe.start()
    opened = time.perf_counter()
    window.open_path(path)
    first("window shows the file")
    while "analysis done" not in marks or "summary done" not in marks:
        app.processEvents()
        if "waveform" in marks and "waveform painted" not in marks:
            window.timeline.viewport().repaint()
            first("waveform painted")
        if window.jobs.state == "failed":
            print(f"analysis failed: {window.last_error}")
            return 1
        time.sleep(0.001)
    probe.stop()
    stalls = sorted(probe.gaps)
    info = window.doc.info
    print(f"\nfile: {info.duration / 3600:.2f} h, {info.sample_rate} Hz, {info.channels} ch; "
          f"model {window.status.model_label.text()[7:]}, {window.status.device_label.text()}")
    for name in ("window shows the file", "waveform", "waveform painted", "lanes", "summary done", "analysis done"):
        print(f"  {name:<24} {marks.get(name, float('nan')):8.2f} s after opening")
    print(f"  analysis speed           {window.jobs.speed:8.0f}x real time")
    print(f"GUI stalls while working ({len(stalls)} probe ticks): max {stalls[-1] * 1000:.0f} ms, "
          f"99th pct {stalls[int(len(stalls) * 0.99)] * 1000:.0f} ms, median {statistics.median(stalls) * 1000:.1f} ms")

    worst = sorted(zip(probe.gaps, probe.at, strict=True), reverse=True)[:3]
    print("  longest stalls ended at " + ", ".join(f"{at - opened:.2f} s ({gap * 1000:.0f} ms)" for gap, at in worst))

    spans = [info.duration, 600.0, 60.0, 5.0, 0.05]
    results = frame_times(app, window, spans)
    print("frame times (pan 10% / zoom one wheel step, then repaint):")
    for span, times in results.items():
        ms = sorted(t * 1000 for t in times)
        print(f"  view {span:>9.2f} s: median {statistics.median(ms):6.1f} ms, max {ms[-1]:6.1f} ms")
    adapting(app, window, tmp)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB")
    window.shutdown()
    return 0


def adapting(app, window, tmp: Path) -> None:
    """Analysis > Adapt to My Corrections on three corrected regions, then a new lane from three
    examples, as an editor would trigger them; each timed to its finished signal with the stall probe on."""
    from studio_tagger.analysis.regions import Region

    doc = window.doc
    starts = [doc.duration * f for f in (0.2, 0.5, 0.8)]
    doc.add_regions([Region("flute", s, s + 15.0) for s in starts], "3 corrections")
    runs = [("adapt to 3 corrections", window.adapt_action.trigger),
            ("new lane from 3 examples", lambda: window.adaptation.new_lane(
                "test tone", [(s + 20.0, s + 30.0) for s in starts]))]
    for name, trigger in runs:
        done: list[str] = []

        def finished(text: str, done: list[str] = done) -> None:
            done.append(text)

        window.adaptationFinished.connect(finished)
        probe = StallProbe()
        probe.start()
        t0 = time.perf_counter()
        window.last_error = ""
        trigger()
        # The worker is done a moment before its result reaches the GUI thread: wait for the result.
        while not done and not window.last_error and time.perf_counter() - t0 < 600:
            app.processEvents()
            time.sleep(0.001)
        elapsed = time.perf_counter() - t0
        probe.stop()
        window.adaptationFinished.disconnect(finished)
        if not done:
            print(f"{name}: failed ({window.last_error})")
            continue
        print(f"{name}: {elapsed:.2f} s, longest GUI stall {max(probe.gaps, default=0) * 1000:.0f} ms — {done[0]}")


if __name__ == "__main__":
    sys.exit(main())
