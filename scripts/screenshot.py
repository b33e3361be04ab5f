"""Render the README screenshot from a real run of the app.

    .venv/bin/python scripts/screenshot.py                       # demo take, shipped model
    .venv/bin/python scripts/screenshot.py --model m.safetensors --out /tmp/shot.png

Runs offscreen unless a display is set (``xvfb-run -a`` also works): opens the recording in the main
window, waits for the background analysis and waveform summary to finish, selects the first region
of the busiest instrument and saves a grab of the window. Settings go to a temporary file, so a
user's own settings neither change the picture nor are changed by it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=ROOT / "resources/demo/demo_take.flac")
    parser.add_argument("--model", default="", help="model .safetensors (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=ROOT / "resources/screenshot.png")
    parser.add_argument("--size", default="1600x900", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the analysis")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import QSettings

    from studio_tagger.app.main import make_app
    from studio_tagger.app.main_window import MainWindow
    from studio_tagger.app.settings import AppSettings

    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        settings = AppSettings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        settings.model_path = args.model
        window = MainWindow(settings)
        width, height = (int(x) for x in args.size.lower().split("x"))
        window.resize(width, height)
        window.show()
        if not window.open_path(args.audio):
            print(f"screenshot: {window.last_error}", file=sys.stderr)
            return 1
        deadline = time.monotonic() + args.timeout
        while (window.jobs.state == "running" or not window.doc.peaks.complete) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        if window.jobs.state != "done":
            print(f"screenshot: analysis did not finish ({window.jobs.state}: {window.last_error})",
                  file=sys.stderr)
            return 1
        doc = window.doc
        if doc.regions:
            busiest = max(doc.labels, key=lambda label: sum(r.duration for r in doc.regions_of(label)))
            window.navigation.jump_to(doc.regions_of(busiest)[0])
        window.timeline.fit_all()
        for _ in range(20):  # let the views settle after the last signals
            app.processEvents()
            time.sleep(0.02)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(args.out)):
            print(f"screenshot: cannot write {args.out}", file=sys.stderr)
            return 1
        print(f"{args.out}: {width}x{height}, {len(doc.regions)} regions, {window.status.model_label.text()}")
        window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
