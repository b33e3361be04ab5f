"""Per-label calibration of a sigmoid model on rendered long takes: one logit bias per label.

One global threshold suits the labels unequally: with model 0.2.1 and the default region settings, piano
opened 46 false-alarm regions on 20 rendered takes (segment F1 0.73) while the female singer was found in
only 13 of 24 solos, with no false alarm. A bias ``b`` added to one label's logits before the
sigmoid moves that label's operating point (``b > 0``: its lane opens sooner). The bias lives in the model
card (``calibration.logit_bias``) and the analyzer adds it, so the user's thresholds keep one meaning on
every lane and the app's sliders still move all lanes together.

The fit runs the users' path (`Analyzer.analyze` + `find_regions` with the default region settings) over
the takes once per bias of a grid, the same bias on every label: a label's regions depend only on its own
column, so one pass scores every label at that bias. Per label it keeps the bias with the best 1 s segment
F1; biases within ``tolerance`` of the best count as ties, broken by more solos found, then by the smaller
shift (so a label the takes cannot tell about keeps 0). Fit on tuning takes; report on other takes.

    python -m training.calibrate --model resources/models/default.safetensors \\
        --takes ~/.cache/studio-tagger/takes --write --version 0.2.2
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.regions import RegionParams
from studio_tagger.models import LoadedModel, load_model
from studio_tagger.models.checkpoint import MAX_BIAS, write_card
from training.evaluate import evaluate_takes, take_files
from training.report import TimelineReport
from training.soundfonts import EVALUATION_ONLY

DEFAULT_GRID = tuple(np.round(np.arange(-2.0, 2.0001, 0.25), 2).tolist())  # odds x0.14 .. x7.4


def score_takes(model: LoadedModel, files: Sequence[Path], bias: Sequence[float], params: RegionParams,
                device: str = "auto", hop: float = 0.5) -> TimelineReport:
    """The takes' timeline report with ``bias`` (one per label) in place of the card's calibration."""
    calibrated = replace(model, logit_bias=tuple(float(b) for b in bias))
    report, _ = evaluate_takes(Analyzer(calibrated, device=device, hop=hop), files, params)
    return report


def sweep(model: LoadedModel, files: Sequence[Path], grid: Sequence[float], params: RegionParams,
          device: str = "auto", hop: float = 0.5, show_progress: bool = False) -> dict[float, TimelineReport]:
    """The takes' timeline report at each bias of the grid (the same bias on every label)."""
    reports = {}
    for i, b in enumerate(grid):
        report = reports[float(b)] = score_takes(model, files, [b] * len(model.labels), params, device, hop)
        if show_progress:
            s = report.summary()
            print(f"[{i + 1}/{len(grid)}] bias {b:+.2f}: {s['found']}/{s['solos']} found, "
                  f"segment F1 {s['segment_f1']:.4f}", file=sys.stderr)
    return reports


def choose(rows: Mapping[float, Sequence[dict]], labels: Sequence[str], tolerance: float = 0.005) -> dict[str, float]:
    """Per label, the bias with the best segment F1; near-ties go to more solos found, then to |bias| nearest 0."""
    out = {}
    for i, label in enumerate(labels):
        f1 = {b: per_label[i]["segment_f1"] for b, per_label in rows.items()}
        best = max(f1.values())
        tied = [b for b in rows if f1[b] >= best - tolerance]
        out[label] = float(min(tied, key=lambda b: (-rows[b][i]["found"], abs(b), b)))
    return out


def _compare(before: TimelineReport, after: TimelineReport, bias: Mapping[str, float]) -> str:
    lines = [f"{'label':<26} {'bias':>6} {'found':>9} {'FA':>9} {'seg F1':>15}"]
    for old, new in zip(before.per_label(), after.per_label(), strict=True):
        lines.append(f"{old['label']:<26} {bias[old['label']]:+6.2f} {old['found']:4d}>{new['found']:<4d} "
                     f"{old['false_alarm_regions']:4d}>{new['false_alarm_regions']:<4d} "
                     f"{old['segment_f1']:7.4f}>{new['segment_f1']:.4f}")
    s0, s1 = before.summary(), after.summary()
    lines.append(f"{'all':<26} {'':>6} {s0['found']:4d}>{s1['found']:<4d} "
                 f"{s0['false_alarm_regions']:4d}>{s1['false_alarm_regions']:<4d} "
                 f"{s0['segment_f1']:7.4f}>{s1['segment_f1']:.4f}   ({s1['solos']} solos)")
    return "\n".join(lines)


def _bank(truth_file: Path) -> str:
    return str(json.loads(truth_file.read_text(encoding="utf-8")).get("bank", ""))


def _grid(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted({round(float(v), 4) for v in text.split(",") if v.strip()}))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc
    if 0.0 not in values or any(abs(v) > MAX_BIAS for v in values):
        raise argparse.ArgumentTypeError(f"the grid must contain 0 and stay within +-{MAX_BIAS:g}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model .safetensors (default: the shipped one)")
    parser.add_argument("--takes", type=Path, nargs="+", required=True, help="ground-truth JSON files or folders")
    parser.add_argument("--grid", type=_grid, default=DEFAULT_GRID,
                        help="comma-separated logit biases to try (must contain 0)")
    parser.add_argument("--tolerance", type=float, default=0.005, help="segment F1 differences counted as ties")
    parser.add_argument("--hold", default="", metavar="LABELS",
                        help="comma-separated labels whose bias stays 0 (e.g. where a fitted bias was seen to "
                             "cut a label's recall on a held-out family below half)")
    parser.add_argument("--write", action="store_true", help="store the biases in the model card")
    parser.add_argument("--version", help="with --write: the card's new model version")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--hop", type=float, default=0.5, help="analysis hop in seconds")
    parser.add_argument("--progress", action="store_true", help="print each grid step")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(min(torch.get_num_threads(), 2))  # the CPU is shared; see training.train
    model = load_model(args.model)
    if model.card.get("activation", "sigmoid") != "sigmoid":
        print("calibration needs a sigmoid (multi-label) model", file=sys.stderr)
        return 2
    files = take_files(args.takes)
    if not files:
        print("no ground-truth JSON files found", file=sys.stderr)
        return 2
    kept_out = sorted(f.name for f in files if _bank(f) in EVALUATION_ONLY)
    if kept_out:
        print(f"{', '.join(kept_out)}: rendered from an evaluation-only bank; calibrating on it would tune on it",
              file=sys.stderr)
        return 2
    held = [x.strip() for x in args.hold.split(",") if x.strip()]
    unknown = [x for x in held if x not in model.labels]
    if unknown:
        print(f"--hold: unknown label(s) {', '.join(unknown)}; the model's labels: {', '.join(model.labels)}",
              file=sys.stderr)
        return 2
    params = RegionParams()
    reports = sweep(model, files, args.grid, params, args.device, args.hop, args.progress)
    bias = choose({b: r.per_label() for b, r in reports.items()}, model.labels, args.tolerance)
    bias.update(dict.fromkeys(held, 0.0))
    before = reports[0.0]  # the grid always holds 0 (see _grid): the uncalibrated model
    after = score_takes(model, files, [bias[label] for label in model.labels], params, args.device, args.hop)
    print(f"{model.name} on {len(files)} takes (bias 0 > fitted)\n{_compare(before, after, bias)}")
    if args.write:
        card = dict(model.card)
        card["calibration"] = {
            "logit_bias": bias,
            "method": "per-label logit bias with the best 1 s segment F1 on the takes (training.calibrate)",
            "takes": [f.stem for f in files], "grid": list(args.grid), "tolerance": args.tolerance,
            "held_at_zero": held,
            "region_params": asdict(params),
            "command": "python -m training.calibrate " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
            "before": before.summary(), "after": after.summary(),
        }
        if args.version:
            card["version"] = args.version
        path = write_card(card, model.path)
        print(f"calibration written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
