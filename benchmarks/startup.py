"""How long the program takes to answer before any audio is touched, each run as its own process.

    .venv/bin/python benchmarks/startup.py            # five runs of each
    .venv/bin/python benchmarks/startup.py --runs 9

Figures printed (min / median / max seconds of wall time, from the parent's clock):
  `studio-tagger --help`              the parser alone; it should not import torch
  `python -c "import torch"`          what every command that analyses pays once
  app: window shown, torch loaded     `studio-tagger app` offscreen: from the process's start to the
                                      main window shown (its first events handled), and to the end of loading torch and
                                      the analyzer on a helper thread behind it (an analysis can start
                                      from then on without waiting); the window then closes
  teardown after `analyze`            what Python's own teardown of the interpreter would add once
                                      `analyze` (of a short generated take) has finished: the commands
                                      skip it (os._exit after flushing), this measures what that saves

Settings go to a temporary folder, not the user's. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

APP_CHILD = """
import sys, time
from PySide6.QtCore import QTimer
from studio_tagger.app import main as app_main
from studio_tagger.app import main_window

Window = main_window.MainWindow
class Shown(Window):
    def showEvent(self, event):
        super().showEvent(event)
        Shown.shown = self
        QTimer.singleShot(0, lambda: print("window", time.time(), flush=True))  # once its first paint is done
main_window.MainWindow = Shown
behind = app_main.load_torch_behind
def load_and_wait(device):
    thread = behind(device)
    def ready():
        if thread.is_alive():
            QTimer.singleShot(10, ready)
            return
        print("torch", time.time(), flush=True)
        Shown.shown.close()
    QTimer.singleShot(10, ready)
    return thread
app_main.load_torch_behind = load_and_wait
app_main.run_app([])
"""

TEARDOWN_CHILD = """
import sys, time
from studio_tagger.cli import main
main(["analyze", sys.argv[1], "--quiet", "--json", sys.argv[2]])
print("done", time.time(), flush=True)
"""  # main(), not the console script: the interpreter then tears down as it used to


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, float]]:
    """(start, end) wall clock of one child and the times it printed as 'NAME SECONDS' lines."""
    started = time.time()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    ended = time.time()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(argv[:3])}\n{proc.stderr[-2000:]}")
    marks = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.partition(" ")
        try:
            marks[name] = float(value)
        except ValueError:
            continue
    return started, ended, marks


def show(name: str, values: list[float]) -> None:
    print(f"{name:34s} {min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "XDG_CONFIG_HOME": str(Path(tmp) / "config"), "XDG_DATA_HOME": str(Path(tmp) / "data")}
        take = Path(tmp) / "take.wav"
        rng = np.random.default_rng(0)
        sf.write(str(take), (0.1 * rng.standard_normal(16000 * 60)).astype(np.float32), 16000)
        figures: dict[str, list[float]] = {}
        for _ in range(args.runs):
            s, e, _ = timed([py, "-m", "studio_tagger.cli", "--help"], env)
            figures.setdefault("studio-tagger --help", []).append(e - s)
            s, e, _ = timed([py, "-c", "import torch"], env)
            figures.setdefault("import torch (a whole process)", []).append(e - s)
            s, e, marks = timed([py, "-c", APP_CHILD], env)
            figures.setdefault("app: window shown", []).append(marks["window"] - s)
            figures.setdefault("app: torch loaded behind it", []).append(marks["torch"] - s)
            s, e, marks = timed([py, "-c", TEARDOWN_CHILD, str(take), str(Path(tmp) / "a.json")], env)
            figures.setdefault("teardown after analyze", []).append(e - marks["done"])
        print(f"{args.runs} runs each, {os.cpu_count()} CPU cores; min / median / max")
        for name, values in figures.items():
            show(name, values)


if __name__ == "__main__":
    main()
