"""How long the region list takes to show the regions again after an edit, for thousands of regions (an
imported marker list): the GUI thread is held that long on every add, move, relabel, delete or undo.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/region_list.py [--regions 500,2000,5000,10000]

Prints, per count, the median and worst of seven updates (the list shown, sorted by start, all
instruments). A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from PySide6.QtWidgets import QApplication

from studio_tagger.analysis.regions import Region
from studio_tagger.app.region_list import RegionList

LABELS = ("flute", "violin", "oboe", "piano", "trumpet", "cue")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", default="500,2000,5000,10000", help="region counts, comma-separated")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rng = random.Random(0)
    view = RegionList()
    view.resize(420, 600)
    view.show()
    colours = dict.fromkeys(LABELS, "#88aaff")
    for n in (int(x) for x in args.regions.split(",")):
        regions = []
        for _ in range(n):
            start = rng.uniform(0.0, 3 * 3600.0)
            regions.append(Region(rng.choice(LABELS), start, start + rng.uniform(0.0, 12.0), rng.random()))
        times = []
        for k in range(7):
            edited = regions[:k] + regions[k + 1:]  # one region fewer each time, as a delete leaves it
            began = time.perf_counter()
            view.set_regions(edited, colours)
            app.processEvents()
            times.append(time.perf_counter() - began)
        print(f"{n:>6} regions: update {statistics.median(times) * 1000:.1f} ms median, {max(times) * 1000:.1f} ms worst")


if __name__ == "__main__":
    main()
