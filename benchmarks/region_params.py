"""How activity becomes regions: the `RegionParams` defaults chosen on tuning takes, checked on others.

Analyses every take once (ground-truth JSON files written by `training.takes`, `training.realtakes` or
`training.takes --accompaniment-only`), then scores regions for each setting on a grid without running
the model again: solos found (half covered by a region of their label), 1 s segment F1 and false regions
per minute (regions over no solo of their label). The grid is ranked on the tuning takes only (best
segment F1, then solos found, then fewest false regions); the held-out sets show the chosen setting
beside the current defaults. A second sweep, over the current thresholds and durations, ranks how a region
inside a stronger one of another lane is dropped (`shadow_margin` 0 = never; ties go to the larger
`shadow_overlap`, which drops fewer) and shows it on the held-out sets beside no dropping at all. A third
ranks a floor on a region's score (its mean activity; not a setting of the analyzer: regions below it
would be hidden) the same way, to see whether weak regions are the false ones.

    python benchmarks/region_params.py --tuning ~/.cache/studio-tagger/takes_tuning \\
        --held-out gm=~/.cache/studio-tagger/takes_eval real=~/.cache/studio-tagger/takes_real \\
                   accompaniment=~/.cache/studio-tagger/accompaniment_takes
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio_tagger.analysis import Analyzer  # noqa: E402
from studio_tagger.analysis.regions import RegionParams, find_regions  # noqa: E402
from training.evaluate import read_take, take_files  # noqa: E402
from training.report import TimelineScorer  # noqa: E402

GRID = {"threshold_on": (0.35, 0.4, 0.45, 0.5), "threshold_off": (0.2, 0.25, 0.3), "min_duration": (1.5, 2.0, 2.5, 3.0),
        "merge_gap": (2.0, 3.0, 4.0)}
SHADOW_GRID = {"shadow_margin": (0.0, 0.1, 0.2, 0.3, 0.4), "shadow_overlap": (0.5, 0.8, 0.95)}
SCORE_FLOORS = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5)


def analysed(analyzer: Analyzer, roots: list[Path]) -> list[tuple]:
    rows = []
    for path in take_files(roots):
        audio, _, solos = read_take(path)
        result = analyzer.analyze(audio)
        rows.append((path.stem, result.duration, solos, result.times, result.activity))
    return rows


def score(labels, rows, params: RegionParams, floor: float = 0.0) -> dict:
    """Solos found, segment F1 and false regions a minute; ``floor``: regions scoring below it left out."""
    scorer = TimelineScorer(labels)
    for name, duration, solos, times, activity in rows:
        regions = find_regions(times, activity, labels, params, duration=duration)
        scorer.add(name, duration, solos, [r for r in regions if r.score >= floor])
    return scorer.report().summary()


def rank(s: dict, *tie_breaks: float) -> tuple:
    """How a setting ranks on the tuning takes (higher is better): segment F1, then solos found, then fewest
    false regions, then ``tie_breaks``."""
    return (round(s["segment_f1"], 3), s["found"], -s["false_alarms_per_minute"], *tie_breaks)


def describe(s: dict) -> str:
    found = f"{s['found']}/{s['solos']} found, F1 {s['segment_f1']:.3f}, " if s["solos"] else ""
    return f"{found}{s['false_alarms_per_minute']:.2f} false regions/min"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tuning", type=Path, nargs="+", required=True, help="take folders the grid is ranked on")
    ap.add_argument("--held-out", nargs="*", default=[], metavar="NAME=DIR", help="take folders only reported")
    ap.add_argument("--model", help="default: the shipped model")
    ap.add_argument("--top", type=int, default=10, help="how many settings of the grid to list")
    args = ap.parse_args(argv)
    analyzer = Analyzer(args.model, device="cpu")
    labels = analyzer.model.labels
    tuning = analysed(analyzer, [p.expanduser() for p in args.tuning])
    held = {name: analysed(analyzer, [Path(d).expanduser()])
            for name, d in (item.split("=", 1) for item in args.held_out)}
    current = RegionParams()
    ranked = []
    for values in itertools.product(*GRID.values()):
        params = replace(current, **dict(zip(GRID, values, strict=True)))
        if params.threshold_off > params.threshold_on:
            continue
        s = score(labels, tuning, params)
        ranked.append((rank(s), params, s))
    ranked.sort(key=lambda r: r[0], reverse=True)
    print(f"model {analyzer.model.name}; {len(tuning)} tuning takes; grid of {len(ranked)} settings")
    print(f"current defaults {asdict(current)}: {describe(score(labels, tuning, current))}")
    for _, params, s in ranked[: args.top]:
        print(f"  on {params.threshold_on:g} off {params.threshold_off:g} shortest {params.min_duration:g} s "
              f"bridge {params.merge_gap:g} s: {describe(s)}")
    best = ranked[0][1]
    now = {name: describe(score(labels, rows, current)) for name, rows in held.items()}  # the defaults, once
    for name, rows in held.items():
        print(f"{name} ({len(rows)} takes): current {now[name]}; "
              f"best on tuning {describe(score(labels, rows, best))}")

    shadows = []
    for values in itertools.product(*SHADOW_GRID.values()):
        params = replace(current, **dict(zip(SHADOW_GRID, values, strict=True)))
        s = score(labels, tuning, params)
        shadows.append((rank(s, params.shadow_overlap), params, s))
    shadows.sort(key=lambda r: r[0], reverse=True)
    print("dropping a region inside a stronger one of another lane (current thresholds and durations):")
    for _, params, s in shadows[: args.top]:
        print(f"  margin {params.shadow_margin:g} overlap {params.shadow_overlap:g}: {describe(s)}")
    chosen, never = shadows[0][1], replace(current, shadow_margin=0.0)
    for name, rows in held.items():
        print(f"{name}: never {describe(score(labels, rows, never))}; current {now[name]}; "
              f"best on tuning {describe(score(labels, rows, chosen))}")

    floors = sorted(((rank(s, -floor), floor, s) for floor in SCORE_FLOORS
                     for s in [score(labels, tuning, current, floor)]), reverse=True)
    print("leaving out regions whose score (mean activity) is below a floor (current settings):")
    for _, floor, s in floors:
        print(f"  floor {floor:g}: {describe(s)}")
    for name, rows in held.items():
        print(f"{name}: " + "; ".join(
            f"floor {floor:g} {now[name] if floor == 0 else describe(score(labels, rows, current, floor))}"
            for floor in SCORE_FLOORS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
