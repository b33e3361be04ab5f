"""Evaluate a model on clips (the paper's tables) and on long takes (what editors see).

    python -m training.evaluate clips --model M.safetensors --data synth --root DIR --subsets gm6 --out REPORTS
    python -m training.evaluate takes --model M.safetensors --takes TAKES_DIR --out REPORTS
    python -m training.evaluate notes --model M.safetensors --sources mtg_solosax,splendid_piano --out REPORTS

Clips: each clip is scored the way the analyzer scores a file (2 s windows every 0.5 s, window
probabilities overlap-added into 0.5 s bins, the clip's score per label = the mean over bins, as
`AnalysisResult.mean_scores`), and its class is the best-scoring label. By default every clip file goes
through `Analyzer.analyze` itself, which proves the path users run; ``--in-memory`` uses `clip_scores`
on decoded clips instead, the same computation batched (training validates with it every epoch; a test
checks that both give the same scores). Sigmoid models also get a detection table at ``--threshold``,
with accompaniment clips of the same subsets as negatives.

Takes: for each ground-truth JSON from `training.takes`, `Analyzer.analyze` + `find_regions` (defaults
of `RegionParams` unless overridden), scored per solo (found when one region of its label covers half
of it; onset error) and on 1 s segments (sed_eval's segment-based micro F1), with per-label figures.
Notes: each single-note recording of the named realdata sources, one file at a time through
`Analyzer.analyze`, named by its best label as `studio-tagger classify` names it: how a sample library's
one-shots fare. Clips and notes whose metadata names a group (one source's instrument, such as
"mtg_solosax/soprano saxophone") also get a recall per group, with the label each group is most often
taken for: a label's recall can hide one member of a family that is always missed. Reports go to
``--out`` as .txt, .json and .png.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from studio_tagger.analysis import Analyzer
from studio_tagger.analysis.aggregate import BinAggregator
from studio_tagger.analysis.analyzer import activate
from studio_tagger.analysis.regions import RegionParams, find_regions
from studio_tagger.analysis.windows import n_windows, silence_level, window_means
from studio_tagger.features import FeatureParams, LogMel, window_frames
from studio_tagger.models import load_model
from studio_tagger.progress import progress
from training.data import ClipSet, decode, load_dataset, select
from training.report import (
    ClassificationReport,
    DetectionReport,
    Event,
    GroupRecall,
    TimelineReport,
    TimelineScorer,
    classification_report,
    detection_report,
    group_recalls,
    group_table,
    plot_classification,
    plot_timeline,
    write_report,
)


def _window_logits(module: torch.nn.Module, feats: torch.Tensor, win: int, hop: int, silence: float,
                   batch: int) -> torch.Tensor:
    """(clips, windows, labels) logits for equal-length clips, cut as the analyzer's scorers cut them."""
    clips, frames, mels = feats.shape
    count = n_windows(frames, win, hop)
    starts = torch.arange(count, device=feats.device) * hop
    if getattr(module, "kind", "clip") == "frames":
        # One run over each whole clip, logits spread back to 10 ms frames (the tail shorter than the
        # model's stride takes the last logits), each window the mean over its valid frames.
        logits = module(feats).repeat_interleave(int(module.time_stride), dim=1)
        if logits.shape[1] < frames:
            logits = torch.cat([logits, logits[:, -1:].expand(-1, frames - logits.shape[1], -1)], dim=1)
        return window_means(logits[:, :frames], starts, win)
    need = int(starts[-1]) + win
    if need > frames:
        feats = torch.cat([feats, feats.new_full((clips, need - frames, mels), silence)], dim=1)
    windows = torch.stack([feats[:, s: s + win] for s in starts.tolist()], dim=1).flatten(0, 1)
    out = torch.cat([module(windows[i: i + batch]) for i in range(0, len(windows), batch)])
    return out.view(clips, count, -1)


def clip_scores(module: torch.nn.Module, audio: np.ndarray, lengths: np.ndarray, *, activation: str,
                features: FeatureParams | None = None, window_seconds: float = 2.0, hop: float = 0.5,
                device: torch.device | str = "cpu", batch: int = 64, show_progress: bool = False,
                logit_bias: Sequence[float] = ()) -> np.ndarray:
    """(clips, labels) mean activity of each clip, as `Analyzer.analyze(...).mean_scores()` gives it
    (``logit_bias``: the model card's calibration, added before a sigmoid as the analyzer adds it)."""
    params = features or FeatureParams()
    device = torch.device(device)
    logmel = LogMel(params).to(device)
    hop_frames = int(round(hop * params.frame_rate))
    win = window_frames(window_seconds, params)
    span = BinAggregator.windows_per_bin(window_seconds, hop_frames / params.frame_rate)
    scores: list[np.ndarray] = [np.zeros(0)] * len(lengths)
    bias = torch.tensor(logit_bias, dtype=torch.float32, device=device) if len(logit_bias) else None
    was_training = module.training
    module.eval()
    groups = [(n, np.flatnonzero(lengths == n)) for n in np.unique(lengths)]
    chunks = [(n, rows[i: i + batch]) for n, rows in groups for i in range(0, len(rows), batch)]
    with torch.inference_mode():
        for n, rows in progress(chunks, len(chunks), "scoring", force=show_progress):
            wave = torch.as_tensor(np.asarray(audio[rows, :n], dtype=np.float32), device=device)
            logits = _window_logits(module, logmel(wave), win, hop_frames, silence_level(params), batch)
            probs = activate(logits, activation, bias)
            n_bins = max(1, math.ceil(round(n / params.sample_rate / (hop_frames / params.frame_rate), 6)))
            for row, p in zip(rows, probs.float().cpu().numpy(), strict=True):
                bins = BinAggregator(span, n_bins, p.shape[-1]).push(p, final=True)
                scores[row] = np.clip(bins, 0.0, 1.0).mean(axis=0)
    module.train(was_training)
    return np.stack(scores) if len(scores) else np.zeros((0, 0), np.float32)


def analyzer_scores(analyzer: Analyzer, paths: Sequence[Path], show_progress: bool = False) -> np.ndarray:
    """(files, labels) mean activity of each file through `Analyzer.analyze`, the users' path."""
    rows = []
    for path in progress(paths, len(paths), "analysing", force=show_progress):
        result = analyzer.analyze(path)
        rows.append([result.mean_scores()[label] for label in result.labels])
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(analyzer.model.labels))


def clip_metrics(scores: np.ndarray, label_ids: np.ndarray, labels: Sequence[str], activation: str,
                 threshold: float = 0.5) -> tuple[ClassificationReport, DetectionReport | None]:
    """Classification (best label) over labelled clips; detection at ``threshold`` for sigmoid models,
    over labelled and unlabelled (label -1) clips alike."""
    label_ids = np.asarray(label_ids)
    labelled = label_ids >= 0
    table = classification_report(label_ids[labelled], scores[labelled].argmax(axis=1), labels)
    if activation == "softmax":
        return table, None
    truth = np.zeros(scores.shape, dtype=bool)
    truth[np.flatnonzero(labelled), label_ids[labelled]] = True
    return table, detection_report(truth, scores >= threshold, labels)


def metrics_summary(table: ClassificationReport, detection: DetectionReport | None) -> dict:
    """The few numbers a model card and a training log line carry."""
    out = {"clips": int(table.confusion.sum()), "accuracy": table.accuracy, "macro_f1": table.macro.f1,
           "weighted_f1": table.weighted.f1}
    if detection is not None:
        out |= {"detection_micro_f1": detection.micro.f1, "detection_macro_f1": detection.macro.f1,
                "negatives": detection.negatives, "false_alarm_rate": detection.false_alarm_rate}
    return out


def write_clip_report(out: Path, table: ClassificationReport, detection: DetectionReport | None,
                      title: str, extra: dict, groups: Sequence[GroupRecall] = ()) -> None:
    text = [title, "", "classification (best-scoring label per clip)", table.to_text()]
    data = {**extra, "classification": table.to_dict()}
    if groups:
        text += ["", "recall per group (one source's instrument, as the metadata names it)", group_table(groups)]
        data["per_group"] = [g.to_dict() for g in groups]
    if detection is not None:
        text += ["", "detection (label on when its clip score >= threshold)", detection.to_text()]
        data["detection"] = detection.to_dict()
    write_report(out, "clips", "\n".join(text), data)
    plot_classification(table, out / "clips.png", title)


def _clips(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    activation = str(model.card.get("activation", "sigmoid"))
    dataset = load_dataset(args.data, args.root, args.accompaniment)
    if tuple(dataset.labels) != tuple(model.labels):
        print(f"dataset labels {dataset.labels} differ from the model's {model.labels}", file=sys.stderr)
        return 2
    sources = select(dataset.sources, args.subsets) if args.subsets else dataset.sources
    if not args.negatives:
        sources = [s for s in sources if s.label_id >= 0]
    if args.limit:
        rng = np.random.default_rng(0)
        sources = [sources[i] for i in sorted(rng.choice(len(sources), min(args.limit, len(sources)), replace=False))]
    analyzer = Analyzer(model, device=args.device)
    if args.in_memory:
        clips: ClipSet = decode(sources, model.labels, cache_dir=args.cache, jobs=args.jobs,
                                show_progress=args.progress)
        scores = clip_scores(analyzer.module, clips.audio, clips.lengths, activation=activation,
                             features=model.features, window_seconds=model.window_seconds, hop=args.hop,
                             device=analyzer.device, show_progress=args.progress,
                             logit_bias=model.logit_bias)
        label_ids, path = clips.label_ids, "in-memory clip_scores"
        groups = [clips.sources[i].group for i in clips.source_index]
    else:
        if args.hop != analyzer.hop:
            analyzer = Analyzer(model, device=args.device, hop=args.hop)
        scores = analyzer_scores(analyzer, [s.path for s in sources], args.progress)
        label_ids, path = np.array([s.label_id for s in sources]), "Analyzer.analyze per file"
        groups = [s.group for s in sources]
    table, detection = clip_metrics(scores, label_ids, model.labels, activation, args.threshold)
    labelled = np.flatnonzero(label_ids >= 0)  # both paths give label_ids as an array
    by_group = group_recalls([groups[i] for i in labelled], label_ids[labelled], scores[labelled].argmax(axis=1),
                             model.labels)
    title = f"{model.name} on {args.data} {args.root} [{args.subsets or 'all'}]"
    write_clip_report(args.out, table, detection, title, {
        "model": str(model.path), "data": args.data, "root": str(args.root), "subsets": args.subsets,
        "scoring": path, "threshold": args.threshold, "hop": args.hop, "device": str(analyzer.device),
        "summary": metrics_summary(table, detection)}, by_group)
    print(f"{title}\n{json.dumps(metrics_summary(table, detection), indent=2)}\nreport in {args.out}")
    return 0


def _notes(args: argparse.Namespace) -> int:
    from training.realdata import read_manifest, realdata_root

    model = load_model(args.model)
    try:
        notes = read_manifest(realdata_root(args.realdata))
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    wanted = {s.strip() for s in args.sources.split(",") if s.strip()}
    chosen = [n for n in notes if n.source in wanted and n.kind == "note" and n.label in model.labels]
    missing = wanted - {n.source for n in chosen}
    if missing:
        print(f"no labelled notes from {', '.join(sorted(missing))}", file=sys.stderr)
        return 2
    analyzer = Analyzer(model, device=args.device, hop=args.hop)
    scores = analyzer_scores(analyzer, [n.path for n in chosen], args.progress)
    label_ids = np.array([model.labels.index(n.label) for n in chosen])
    table = classification_report(label_ids, scores.argmax(axis=1), model.labels)  # no negatives: no detection
    by_group = group_recalls([n.group for n in chosen], label_ids, scores.argmax(axis=1), model.labels)
    title = f"{model.name} on single real notes of {', '.join(sorted(wanted))} (one file each)"
    write_clip_report(args.out, table, None, title, {
        "model": str(model.path), "sources": sorted(wanted), "scoring": "Analyzer.analyze per file",
        "hop": args.hop, "device": str(analyzer.device), "summary": metrics_summary(table, None)}, by_group)
    print(f"{title}\n{table.to_text()}\n\n{group_table(by_group)}\nreport in {args.out}")
    return 0


def take_files(paths: Sequence[Path]) -> list[Path]:
    """Ground-truth JSON files: the given files, and every *.json in the given folders."""
    out: list[Path] = []
    for p in paths:
        out += sorted(p.glob("*.json")) if p.is_dir() else [p]
    return out


def read_take(path: Path) -> tuple[Path, float, list[Event]]:
    """(audio file, duration, solos) of a `training.takes` ground-truth JSON; audio relative to it."""
    truth = json.loads(path.read_text(encoding="utf-8"))
    audio = Path(truth["file"])
    if not audio.is_absolute():
        audio = path.parent / audio
    solos = [Event(str(s["label"]), float(s["start"]), float(s["end"]), str(s.get("group", ""))) for s in truth["solos"]]
    return audio, float(truth["duration"]), solos


def evaluate_takes(analyzer: Analyzer, files: Sequence[Path], params: RegionParams | None = None,
                   segment: float = 1.0, min_overlap: float = 0.5,
                   show_progress: bool = False) -> tuple[TimelineReport, dict[str, list[dict]]]:
    """Score takes through `Analyzer.analyze` + `find_regions`; returns the report and each take's regions."""
    scorer = TimelineScorer(analyzer.model.labels, segment, min_overlap)
    regions_out = {}
    for path in progress(files, len(files), "takes", force=show_progress):
        audio, _, solos = read_take(path)
        result = analyzer.analyze(audio)
        regions = find_regions(result.times, result.activity, result.labels, params, duration=result.duration)
        scorer.add(path.stem, result.duration, solos, regions)
        regions_out[path.stem] = [r.to_dict() for r in regions]
    return scorer.report(), regions_out


def _takes(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    analyzer = Analyzer(model, device=args.device, hop=args.hop)
    params = RegionParams(smoothing=args.smoothing, threshold_on=args.threshold_on,
                          threshold_off=args.threshold_off, min_duration=args.min_duration, merge_gap=args.merge_gap)
    files = take_files(args.takes)
    if not files:
        print("no ground-truth JSON files found", file=sys.stderr)
        return 2
    report, regions = evaluate_takes(analyzer, files, params, args.segment, args.min_overlap, args.progress)
    title = f"{model.name} on {len(files)} takes"
    data = {"model": str(model.path), "device": str(analyzer.device), "region_params": asdict(params),
            **report.to_dict(), "regions": regions}
    text = f"{title}\n\n{report.to_text()}"
    write_report(args.out, "takes", text, data)
    plot_timeline(report, args.out / "takes.png", title)
    print(f"{text}\nreport in {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", type=Path, default=None, help="model .safetensors (default: the shipped one)")
    common.add_argument("--out", type=Path, required=True, help="report folder")
    common.add_argument("--device", default="auto", help="auto, cpu or cuda")
    common.add_argument("--hop", type=float, default=0.5, help="analysis hop in seconds")
    common.add_argument("--progress", action="store_true", help="draw progress even when not a terminal")

    clips = sub.add_parser("clips", parents=[common], help="per-clip classification tables")
    clips.add_argument("--data", choices=("medley", "synth", "folder"), default="synth")
    clips.add_argument("--root", type=Path, required=True)
    clips.add_argument("--subsets", default="", help="subsets or families to score (comma-separated)")
    clips.add_argument("--accompaniment", type=Path, action="append", default=[],
                       help="extra accompaniment root or folder (negatives)")
    clips.add_argument("--no-negatives", dest="negatives", action="store_false",
                       help="leave out accompaniment clips")
    clips.add_argument("--threshold", type=float, default=0.5, help="detection threshold (sigmoid models)")
    clips.add_argument("--limit", type=int, default=0, help="score a random sample of this many clips")
    clips.add_argument("--in-memory", action="store_true", help="batched clip_scores instead of Analyzer")
    clips.add_argument("--cache", type=Path, default=None, help="decoded-clip cache folder (--in-memory)")
    clips.add_argument("--jobs", type=int, default=2, help="decoding processes (--in-memory)")
    clips.set_defaults(func=_clips)

    notes = sub.add_parser("notes", parents=[common],
                           help="real notes one file each, as `classify` names them (sample-library use)")
    notes.add_argument("--sources", default="mtg_solosax,splendid_piano",
                       help="realdata sources (default: the ones make model holds out)")
    notes.add_argument("--realdata", type=Path, default=None, help="realdata folder (default ../shared/realdata)")
    notes.set_defaults(func=_notes)

    takes = sub.add_parser("takes", parents=[common], help="solo detection and segment F1 on long takes")
    takes.add_argument("--takes", type=Path, nargs="+", required=True, help="ground-truth JSON files or folders")
    d = RegionParams()
    takes.add_argument("--smoothing", type=float, default=d.smoothing)
    takes.add_argument("--threshold-on", type=float, default=d.threshold_on)
    takes.add_argument("--threshold-off", type=float, default=d.threshold_off)
    takes.add_argument("--min-duration", type=float, default=d.min_duration)
    takes.add_argument("--merge-gap", type=float, default=d.merge_gap)
    takes.add_argument("--segment", type=float, default=1.0, help="segment length for segment-based F1 (s)")
    takes.add_argument("--min-overlap", type=float, default=0.5, help="share of a solo a region must cover")
    takes.set_defaults(func=_takes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(min(torch.get_num_threads(), 2))  # the CPU is shared; see training.train
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
