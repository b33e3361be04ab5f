"""Evaluation figures: the paper's classification tables, multi-label detection and timeline scores.

Everything here is plain numpy on already-computed predictions, so the numbers can be checked by hand:

* `classification_report`: confusion matrix (rows = true class, columns = predicted), per-class precision,
  recall, F1 and support, accuracy, macro and support-weighted averages (the paper's Tables 1-3).
* `detection_report`: one yes/no decision per clip and label (sigmoid models), per-label and micro figures.
* `segment_activity` / `timeline_report`: sed_eval's segment-based metrics (a label is active in a 1 s
  segment if any event of it overlaps the segment; TP/FP/FN counted over segments x labels) and per-solo
  detection (found when one region of its label covers at least half of it) with onset errors.

Reports render as text, JSON-ready dicts and PNG figures (matplotlib, imported only when drawing).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio_tagger.analysis.regions import Region
from studio_tagger.atomic import atomic_write


def _ratio(num: float, den: float) -> float:
    """num / den, 0 when den is 0 (sklearn's zero_division=0)."""
    return float(num) / float(den) if den else 0.0


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts."""
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return p, r, _ratio(2 * p * r, p + r)


@dataclass(frozen=True)
class Scores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int = 0
    """How often the label was predicted (a label neither present nor predicted is left out of macro)."""

    def to_dict(self) -> dict:
        return {"label": self.label, "precision": self.precision, "recall": self.recall, "f1": self.f1,
                "support": self.support}


def _averages(rows: Sequence[Scores]) -> tuple[Scores, Scores]:
    """Macro (plain mean over the labels present in truth or predictions, as sklearn does without an
    explicit label list) and weighted (mean weighted by support) averages."""
    support = np.array([r.support for r in rows], dtype=float)
    table = np.array([[r.precision, r.recall, r.f1] for r in rows], dtype=float).reshape(-1, 3)
    seen = np.array([r.support > 0 or r.predicted > 0 for r in rows], dtype=bool)
    macro = table[seen].mean(axis=0) if seen.any() else np.zeros(3)
    weighted = (table * support[:, None]).sum(axis=0) / support.sum() if support.sum() else np.zeros(3)
    total = int(support.sum())
    return Scores("macro avg", *map(float, macro), total), Scores("weighted avg", *map(float, weighted), total)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_labels: int) -> np.ndarray:
    """(n_labels, n_labels) counts; row = true class, column = predicted class."""
    cm = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return cm


@dataclass
class ClassificationReport:
    labels: tuple[str, ...]
    confusion: np.ndarray
    per_class: list[Scores]
    accuracy: float
    macro: Scores
    weighted: Scores

    @property
    def percentages(self) -> np.ndarray:
        """Confusion rows as percentages of each true class (0 for empty rows)."""
        totals = self.confusion.sum(axis=1, keepdims=True)
        return np.divide(100.0 * self.confusion, totals, out=np.zeros(self.confusion.shape), where=totals > 0)

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels), "accuracy": self.accuracy,
            "per_class": [s.to_dict() for s in self.per_class],
            "macro": self.macro.to_dict(), "weighted": self.weighted.to_dict(),
            "confusion": self.confusion.tolist(),
            "confusion_percent": np.round(self.percentages, 2).tolist(),
        }

    def to_text(self) -> str:
        lines = [_score_table(self.per_class, [self.macro, self.weighted]),
                 f"accuracy {self.accuracy:.4f} over {int(self.confusion.sum())} clips", "",
                 "confusion matrix (rows: true, columns: predicted; count and % of the true class)"]
        short = [_short(label) for label in self.labels]
        width = max(12, *(len(s) for s in short))
        lines.append(" " * width + "".join(f"{s:>14}" for s in short))
        for label, counts, pct in zip(short, self.confusion, self.percentages, strict=True):
            cells = "".join(f"{int(c):>7d} {p:5.1f}%" for c, p in zip(counts, pct, strict=True))
            lines.append(f"{label:<{width}}{cells}")
        return "\n".join(lines)


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> ClassificationReport:
    """The paper's table for single-label predictions (class indices into ``labels``)."""
    cm = confusion_matrix(y_true, y_pred, len(labels))
    tp = np.diag(cm)
    rows = []
    for i, label in enumerate(labels):
        p, r, f = prf(tp[i], cm[:, i].sum() - tp[i], cm[i].sum() - tp[i])
        rows.append(Scores(label, p, r, f, int(cm[i].sum()), int(cm[:, i].sum())))
    macro, weighted = _averages(rows)
    return ClassificationReport(tuple(labels), cm, rows, _ratio(tp.sum(), cm.sum()), macro, weighted)


@dataclass
class DetectionReport:
    """Yes/no per clip and label: what a sigmoid model's lanes show."""

    labels: tuple[str, ...]
    per_label: list[Scores]
    micro: Scores
    macro: Scores
    negatives: int
    false_alarm_rate: float
    """Share of clips with no true label (accompaniment, silence) where some label was switched on."""

    def to_dict(self) -> dict:
        return {"per_label": [s.to_dict() for s in self.per_label], "micro": self.micro.to_dict(),
                "macro": self.macro.to_dict(), "negatives": self.negatives,
                "false_alarm_rate": self.false_alarm_rate}

    def to_text(self) -> str:
        text = _score_table(self.per_label, [self.micro, self.macro])
        if self.negatives:
            text += f"\nclips without any label: {self.negatives}, false alarm rate {self.false_alarm_rate:.4f}"
        return text


def detection_report(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> DetectionReport:
    """``truth`` and ``predicted`` are (clips, labels) booleans."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = (truth & predicted).sum(axis=0)
    fp = (~truth & predicted).sum(axis=0)
    fn = (truth & ~predicted).sum(axis=0)
    rows = [Scores(label, *prf(tp[i], fp[i], fn[i]), int(truth[:, i].sum()), int(predicted[:, i].sum()))
            for i, label in enumerate(labels)]
    micro = Scores("micro avg", *prf(tp.sum(), fp.sum(), fn.sum()), int(truth.sum()))
    macro, _ = _averages(rows)
    empty = ~truth.any(axis=1)
    alarms = _ratio((predicted[empty].any(axis=1)).sum(), empty.sum())
    return DetectionReport(tuple(labels), rows, micro, macro, int(empty.sum()), alarms)


@dataclass(frozen=True)
class GroupRecall:
    """How the clips of one group (a source and instrument the metadata names, such as
    "mtg_solosax/soprano saxophone") fare: a label's recall can hide one member of a family, or one source,
    that is always missed."""

    group: str
    label: str
    clips: int
    recall: float
    taken_for: str
    """The wrong label its clips get most often ("" when none is wrong)."""
    taken_for_share: float

    def to_dict(self) -> dict:
        return {"group": self.group, "label": self.label, "clips": self.clips, "recall": self.recall,
                "taken_for": self.taken_for, "taken_for_share": self.taken_for_share}


def group_recalls(groups: Sequence[str], y_true: Sequence[int], y_pred: Sequence[int],
                  labels: Sequence[str]) -> list[GroupRecall]:
    """Recall per named group of labelled clips (clips with an empty group name are left out), in name
    order. A group is named for its most common true label."""
    names = np.asarray(groups, dtype=object)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rows = []
    for group in sorted({g for g in groups if g}):
        rows_of = names == group
        truth, pred = y_true[rows_of], y_pred[rows_of]
        label = int(np.bincount(truth, minlength=len(labels)).argmax())
        wrong = pred[pred != truth]
        counts = np.bincount(wrong, minlength=len(labels))
        taken = int(counts.argmax()) if len(wrong) else -1
        rows.append(GroupRecall(group, labels[label], int(rows_of.sum()), float((pred == truth).mean()),
                                labels[taken] if taken >= 0 else "", _ratio(counts.max(), rows_of.sum())))
    return rows


def group_table(rows: Sequence[GroupRecall]) -> str:
    width = max(14, *(len(r.group) for r in rows)) if rows else 14
    head = f"{'':<{width}} {'clips':>6} {'recall':>7}  most often taken for"
    lines = [f"{r.group:<{width}} {r.clips:6d} {r.recall:7.3f}  "
             + (f"{r.taken_for} ({r.taken_for_share:.0%})" if r.taken_for else "-") for r in rows]
    return "\n".join([head, *lines])


def _short(label: str) -> str:
    return {"distorted electric guitar": "dist. guitar", "tenor saxophone": "tenor sax"}.get(label, label)


def _score_table(rows: Sequence[Scores], summary: Sequence[Scores]) -> str:
    width = max(14, *(len(r.label) for r in [*rows, *summary]))
    head = f"{'':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"
    fmt = [f"{r.label:<{width}} {r.precision:9.4f} {r.recall:9.4f} {r.f1:9.4f} {r.support:9d}"
           for r in [*rows, None, *summary] if r is not None]
    return "\n".join([head, *fmt[: len(rows)], "", *fmt[len(rows):]])


# Timelines ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A labelled stretch of a recording (ground-truth solo or detected region), in seconds."""

    label: str
    start: float
    end: float
    group: str = ""
    """For a ground-truth solo of real notes: the source's instrument that plays it (see `GroupRecall`)."""


def segment_activity(events: Sequence[Event | Region], labels: Sequence[str], duration: float,
                     resolution: float = 1.0) -> np.ndarray:
    """(segments, labels) booleans: label active in segment [k r, (k+1) r) if any event overlaps it."""
    n = max(1, math.ceil(round(duration / resolution, 9)))
    roll = np.zeros((n, len(labels)), dtype=bool)
    index = {label: i for i, label in enumerate(labels)}
    for e in events:
        if e.label not in index or e.end <= e.start:
            continue
        first = max(0, math.floor(e.start / resolution))
        last = min(n, math.ceil(round(e.end / resolution, 9)))
        roll[first:last, index[e.label]] = True
    return roll


@dataclass
class SoloResult:
    label: str
    start: float
    end: float
    found: bool
    overlap: float
    """Largest share of the solo covered by a single region of its label."""
    onset_error: float | None
    """Signed start(region) - start(solo) in seconds of the best-overlapping region, when found."""
    take: str = ""
    group: str = ""
    """The solo's group when its truth names one (takes of real notes)."""

    def to_dict(self) -> dict:
        return {"take": self.take, "label": self.label, "start": self.start, "end": self.end, "found": self.found,
                "overlap": round(self.overlap, 4),
                "onset_error": None if self.onset_error is None else round(self.onset_error, 4)} | (
                    {"group": self.group} if self.group else {})


def match_solos(solos: Sequence[Event], regions: Sequence[Region], min_overlap: float = 0.5,
                take: str = "") -> list[SoloResult]:
    """Each solo is found if one region of its label overlaps at least ``min_overlap`` of it."""
    out = []
    for s in solos:
        best, best_region = 0.0, None
        for r in regions:
            if r.label != s.label:
                continue
            covered = max(0.0, min(r.end, s.end) - max(r.start, s.start)) / max(s.end - s.start, 1e-9)
            if covered > best:
                best, best_region = covered, r
        found = best_region is not None and best >= min_overlap
        onset = best_region.start - s.start if found else None
        out.append(SoloResult(s.label, s.start, s.end, found, best, onset, take, s.group))
    return out


def false_alarm_regions(solos: Sequence[Event], regions: Sequence[Region]) -> list[Region]:
    """Regions that overlap no solo of their label at all."""
    return [r for r in regions
            if not any(s.label == r.label and min(r.end, s.end) > max(r.start, s.start) for s in solos)]


@dataclass
class TimelineReport:
    labels: tuple[str, ...]
    solos: list[SoloResult]
    counts: np.ndarray
    """(labels, 3) segment TP, FP, FN summed over takes."""
    false_alarms: dict[str, int]
    takes: list[dict] = field(default_factory=list)
    resolution: float = 1.0

    def segment_scores(self) -> tuple[list[Scores], Scores]:
        rows = []
        for i, label in enumerate(self.labels):
            tp, fp, fn = self.counts[i]
            rows.append(Scores(label, *prf(tp, fp, fn), int(tp + fn)))
        tp, fp, fn = self.counts.sum(axis=0)
        return rows, Scores("micro avg", *prf(tp, fp, fn), int(tp + fn))

    def per_label(self) -> list[dict]:
        rows, _ = self.segment_scores()
        out = []
        for label, seg in zip(self.labels, rows, strict=True):
            mine = [s for s in self.solos if s.label == label]
            errors = [abs(s.onset_error) for s in mine if s.onset_error is not None]
            out.append({
                "label": label, "solos": len(mine), "found": sum(s.found for s in mine),
                "detection_rate": _ratio(sum(s.found for s in mine), len(mine)),
                "mean_abs_onset_error": float(np.mean(errors)) if errors else None,
                "false_alarm_regions": self.false_alarms.get(label, 0),
                "segment_precision": seg.precision, "segment_recall": seg.recall, "segment_f1": seg.f1,
            })
        return out

    def per_group(self) -> list[dict]:
        """Solos and solos found per group, for solos whose truth names one; empty when none does. Beside
        the count, the mean share of a solo its best region covers (`SoloResult.overlap`): a solo covered
        45 % counts as missed like one never lit, and models that differ by a few such solos differ far
        less than their counts say."""
        mine: dict[str, list[SoloResult]] = {}
        for s in self.solos:
            if s.group:
                mine.setdefault(s.group, []).append(s)
        return [{"group": g, "solos": len(v), "found": sum(s.found for s in v),
                 "mean_cover": round(float(np.mean([s.overlap for s in v])), 4)} for g, v in sorted(mine.items())]

    def summary(self) -> dict:
        _, micro = self.segment_scores()
        errors = np.array([s.onset_error for s in self.solos if s.onset_error is not None], dtype=float)
        found = sum(s.found for s in self.solos)
        minutes = sum(float(t["duration"]) for t in self.takes) / 60.0
        return {
            "takes": len(self.takes), "solos": len(self.solos), "found": found,
            "detection_rate": _ratio(found, len(self.solos)),
            "onset_error_mean_abs": float(np.abs(errors).mean()) if len(errors) else None,
            "onset_error_median_abs": float(np.median(np.abs(errors))) if len(errors) else None,
            "onset_error_mean": float(errors.mean()) if len(errors) else None,
            "false_alarm_regions": int(sum(self.false_alarms.values())),
            "minutes": round(minutes, 2),
            "false_alarms_per_minute": _ratio(int(sum(self.false_alarms.values())), minutes),
            "segment_resolution": self.resolution,
            "segment_precision": micro.precision, "segment_recall": micro.recall, "segment_f1": micro.f1,
        }

    def to_dict(self) -> dict:
        groups = self.per_group()
        return {"summary": self.summary(), "per_label": self.per_label(), "takes": self.takes,
                "solos": [s.to_dict() for s in self.solos]} | ({"per_group": groups} if groups else {})

    def to_text(self) -> str:
        s = self.summary()
        onset = "n/a" if s["onset_error_mean_abs"] is None else (
            f"mean |error| {s['onset_error_mean_abs']:.3f} s, median {s['onset_error_median_abs']:.3f} s, "
            f"mean signed {s['onset_error_mean']:+.3f} s")
        lines = [
            f"{s['takes']} takes, {s['solos']} solos, {s['found']} found (detection rate {s['detection_rate']:.4f})",
            f"onset error: {onset}",
            f"false-alarm regions (overlapping no solo of their label): {s['false_alarm_regions']} "
            f"in {s['minutes']:g} min ({s['false_alarms_per_minute']:.2f} a minute)",
            f"segment-based ({self.resolution:g} s) micro: precision {s['segment_precision']:.4f} "
            f"recall {s['segment_recall']:.4f} F1 {s['segment_f1']:.4f}", "",
            f"{'label':<26} {'solos':>6} {'found':>6} {'rate':>6} {'|onset|':>8} {'FA':>4} {'seg P':>7} "
            f"{'seg R':>7} {'seg F1':>7}",
        ]
        for row in self.per_label():
            err = "-" if row["mean_abs_onset_error"] is None else f"{row['mean_abs_onset_error']:.3f}"
            lines.append(
                f"{row['label']:<26} {row['solos']:6d} {row['found']:6d} {row['detection_rate']:6.3f} {err:>8} "
                f"{row['false_alarm_regions']:4d} {row['segment_precision']:7.4f} {row['segment_recall']:7.4f} "
                f"{row['segment_f1']:7.4f}")
        groups = self.per_group()
        if groups:
            width = max(len(g["group"]) for g in groups)
            lines += ["", "solos found per group (one source's instrument; cover: the mean share of a solo its best "
                          "region covers)"]
            lines += [f"{g['group']:<{width}} {g['found']:3d} of {g['solos']:<3d}  cover {g['mean_cover']:.3f}"
                      for g in groups]
        return "\n".join(lines)


class TimelineScorer:
    """Accumulates takes: `add` one take's solos and regions, then `report`."""

    def __init__(self, labels: Sequence[str], resolution: float = 1.0, min_overlap: float = 0.5) -> None:
        self.labels = tuple(labels)
        self.resolution, self.min_overlap = resolution, min_overlap
        self.counts = np.zeros((len(self.labels), 3), dtype=np.int64)
        self.solos: list[SoloResult] = []
        self.false_alarms: dict[str, int] = {}
        self.takes: list[dict] = []

    def add(self, name: str, duration: float, solos: Sequence[Event], regions: Sequence[Region]) -> None:
        ref = segment_activity(solos, self.labels, duration, self.resolution)
        est = segment_activity(regions, self.labels, duration, self.resolution)
        tp, fp, fn = (ref & est).sum(0), (~ref & est).sum(0), (ref & ~est).sum(0)
        self.counts += np.stack([tp, fp, fn], axis=1)
        results = match_solos(solos, regions, self.min_overlap, name)
        self.solos += results
        alarms = false_alarm_regions(solos, regions)
        for r in alarms:
            self.false_alarms[r.label] = self.false_alarms.get(r.label, 0) + 1
        self.takes.append({"take": name, "duration": duration, "solos": len(solos),
                           "found": sum(s.found for s in results), "regions": len(regions),
                           "false_alarm_regions": len(alarms),
                           "segment_f1": prf(tp.sum(), fp.sum(), fn.sum())[2]})

    def report(self) -> TimelineReport:
        return TimelineReport(self.labels, list(self.solos), self.counts.copy(), dict(self.false_alarms),
                              list(self.takes), self.resolution)


# Output ------------------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no Qt
    import matplotlib.pyplot as plt

    return plt


def plot_classification(report: ClassificationReport, path: Path, title: str = "") -> None:
    """Confusion matrix (% of true class, counts in the cells) beside per-class precision/recall/F1."""
    plt = _pyplot()
    n = len(report.labels)
    short = [_short(label) for label in report.labels]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7 + 0.9 * n, 0.6 * n + 3), gridspec_kw={"width_ratios": [3, 2]})
    pct = report.percentages
    ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{report.confusion[i, j]}\n{pct[i, j]:.0f}%", ha="center", va="center", fontsize=7,
                    color="white" if pct[i, j] > 60 else "black")
    ax.set_xticks(range(n), short, rotation=45, ha="right")
    ax.set_yticks(range(n), short)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {report.accuracy:.3f}, macro F1 {report.macro.f1:.3f}")
    _bars(bx, short, {"precision": [s.precision for s in report.per_class],
                      "recall": [s.recall for s in report.per_class], "f1": [s.f1 for s in report.per_class]})
    _save(fig, plt, path, title)


def plot_timeline(report: TimelineReport, path: Path, title: str = "") -> None:
    """Per-label solo detection rate and segment precision/recall/F1."""
    plt = _pyplot()
    rows = report.per_label()
    short = [_short(r["label"]) for r in rows]
    fig, ax = plt.subplots(figsize=(2 + 1.1 * len(rows), 4.5))
    _bars(ax, short, {"solo detection": [r["detection_rate"] for r in rows],
                      "segment P": [r["segment_precision"] for r in rows],
                      "segment R": [r["segment_recall"] for r in rows],
                      "segment F1": [r["segment_f1"] for r in rows]})
    s = report.summary()
    ax.set_title(f"solos found {s['found']}/{s['solos']}, segment F1 {s['segment_f1']:.3f}")
    _save(fig, plt, path, title)


def _bars(ax, names: Sequence[str], series: dict[str, Sequence[float]]) -> None:
    x = np.arange(len(names))
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="y", alpha=0.3)


def _save(fig, plt, path: Path, title: str) -> None:
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def write_report(folder: Path, stem: str, text: str, data: dict) -> tuple[Path, Path]:
    """``stem``.txt and ``stem``.json in ``folder`` (atomic writes); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    txt, js = folder / f"{stem}.txt", folder / f"{stem}.json"
    with atomic_write(txt, "w") as f:
        f.write(text.rstrip("\n") + "\n")
    with atomic_write(js, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    return txt, js
