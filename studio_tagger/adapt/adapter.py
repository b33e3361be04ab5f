"""Adapting a model to an editor's corrections and examples, on cached window embeddings (no Qt).

The network stays as shipped; only its last layer, a linear map from each 80 ms frame's embedding to
the label logits, is refitted (see `head`). Because that layer is linear, a window's logits are the
layer applied to the window's mean embedding, so one analysis that keeps those means
(``Analyzer(embeddings=True)``) is all the audio an adaptation ever needs, and the adapted lanes are
recomputed from them without decoding again. A lane taught from examples also reads the last block's
features in frequency bands, which those analyses keep beside the embedding (an oboe, which training
treats as accompaniment, is told apart better by them). The result is an ordinary ActivityCNN with a new
head (and one output per new label): it loads, analyses and exports like the shipped model, and its card
names what it was adapted from and on.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..analysis.aggregate import BinAggregator
from ..analysis.analyzer import AnalysisResult, Analyzer, bin_times
from ..analysis.regions import Region, RegionParams, find_regions, lane_name
from ..counted import counted
from ..models import LoadedModel, save_model
from ..models.activity_cnn import LANE_BANDS
from .embedded import Embedded, embeddings_key, from_cache, network_id, weights_hash
from .head import HeadFit, fit_head, fit_member_heads
from .lanes import check_new_lane, items_on_lanes, lane_in_use
from .reviews import AdaptError, Review, merged_spans

THRESHOLD = 0.5  # the score that counts as "plays" in the before/after figures


def embed_review(analyzer: Analyzer, review: Review, progress: Callable[[float], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> tuple[Embedded, AnalysisResult]:
    """Analyse the review's recording once, keeping the window embeddings (the analyzer must be built
    with ``embeddings=True``)."""
    if not review.source.is_file():
        where = "" if review.source.is_absolute() else " (looked for beside the review and from the working folder)"
        raise AdaptError(f"{review.name or review.source}: recording {review.source} not found{where}")
    result = analyzer.analyze(review.source, progress=progress, should_cancel=should_cancel)
    return Embedded(review, result.duration, result.hop, result.window, result.extra["embeddings"]), result


def embed_reviews(analyzer: Analyzer, reviews: Sequence[Review], progress: Callable[[float], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> list[Embedded]:
    """`embed_review` for each review in turn; ``progress`` spans them all."""
    out = []
    for i, review in enumerate(reviews):
        def part(fraction: float, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(reviews))
        key = embeddings_key(analyzer.model, analyzer.hop)
        cache = getattr(review.session, "cache", None) or {}
        width = needed_width(analyzer.model)
        out.append(from_cache(review, cache, key, width) or embed_review(analyzer, review, part, should_cancel)[0])
    return out


def _coverage(starts: np.ndarray, ends: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """The fraction of each window [start, end) that the (non-overlapping) spans cover."""
    covered = np.zeros(len(starts))
    for s, e in spans:
        covered += np.clip(np.minimum(ends, e) - np.maximum(starts, s), 0.0, None)
    return np.clip(covered / np.maximum(ends - starts, 1e-9), 0.0, 1.0)


def window_truth(item: Embedded, labels: Sequence[str],
                 checked_labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(targets, known), both (windows, labels): how much of each window a label's regions cover, and
    whether the editor checked that window (wholly inside a reviewed span) for that label.
    ``checked_labels`` limits what the review vouches for (a new lane's examples say nothing of the rest)."""
    starts, ends = item.window_spans()
    targets = np.zeros((len(starts), len(labels)), np.float32)
    for j, label in enumerate(labels):
        spans = merged_spans([(r.start, r.end) for r in item.review.regions if r.label == label])
        targets[:, j] = _coverage(starts, ends, spans)
    inside = _coverage(starts, ends, merged_spans(item.review.spans(item.duration))) >= 0.999
    known = np.repeat(inside[:, None], len(labels), axis=1)
    if checked_labels is not None:
        known[:, [label not in checked_labels for label in labels]] = False
    return targets, known


@dataclass
class Adapted:
    """An adapted model (in memory; `save_adapted` writes it) and what changed, for the user."""

    model: LoadedModel
    new_labels: tuple[str, ...]
    summary: str
    figures: dict = field(default_factory=dict)


def embed_width(model: LoadedModel) -> int:
    """How many leading features of a window's embeddings are the network's embedding proper; the rest
    (an ActivityCNN's band features) only lanes taught from examples read."""
    module = model.module
    return int(module.embed_width) if hasattr(module, "embed_parts") else int(module.head.in_channels)


def member_widths(model: LoadedModel) -> list[int]:
    """The embedding widths of an ensemble's member networks, in the order its embedding joins them; empty
    for a single network."""
    bodies = getattr(model.module, "bodies", None)
    return [int(body.embed_width) for body in bodies] if bodies is not None else []


def member_band_widths(model: LoadedModel) -> list[int]:
    """How many band features each of an ensemble's member networks gives (they follow all the embeddings,
    in the same order); empty for a single network."""
    bodies = getattr(model.module, "bodies", None)
    return [int(body.band_channels) * LANE_BANDS for body in bodies] if bodies is not None else []


def needed_width(model: LoadedModel) -> int:
    """How many features of each window's embeddings the model's head reads."""
    return int(model.module.head.in_channels)


def base_head(model: LoadedModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's head as (labels, width) weights and biases, its calibration folded into the biases."""
    head = getattr(model.module, "head", None)
    if not isinstance(head, nn.Conv1d) or head.kernel_size != (1,) or not hasattr(model.module, "embed"):
        raise AdaptError(f"model {model.name} cannot be adapted (it needs an ActivityCNN's linear frame head)")
    if str(model.card.get("activation", "sigmoid")) != "sigmoid":
        raise AdaptError(f"model {model.name} cannot be adapted (it needs a sigmoid model)")
    weight = head.weight.detach()[:, :, 0].float().numpy().copy()
    bias = head.bias.detach().float().numpy().copy()
    if model.logit_bias:
        bias += np.asarray(model.logit_bias, np.float32)
    return weight, bias


def adapt_model(
    base: LoadedModel, items: Sequence[Embedded], *, checked_labels: Sequence[str] | None = None,
    fit: HeadFit | None = None, name: str | None = None, progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Adapted:
    """A copy of ``base`` whose head is refitted on the reviews of ``items``; labels the reviews use that
    ``base`` lacks become new outputs (lanes). Raises AdaptError when there is nothing to learn from."""
    if not items:
        raise AdaptError("no reviews to adapt on")
    items = items_on_lanes(items, base.labels)
    weight, bias = base_head(base)
    new = tuple(dict.fromkeys(r.label for it in items for r in it.review.regions if r.label not in base.labels))
    for label in new:
        # The rules of "New Lane from Examples" hold however the examples come (a review that names an
        # unknown label teaches it): a span shorter than a window would teach the lane its surroundings.
        check_new_lane(label, base.labels, [(r.start, r.end) for it in items for r in it.review.regions
                                            if r.label == label], items[0].window)
    labels = (*base.labels, *new)
    truth = [window_truth(it, labels, checked_labels) for it in items]
    targets = np.concatenate([t for t, _ in truth])
    known = np.concatenate([k for _, k in truth])
    if not known.any():
        raise AdaptError("no corrections to learn from: no reviewed span holds a whole analysis window "
                         f"({items[0].window:g} s)")
    for j, label in enumerate(new, start=len(base.labels)):
        if not (targets[:, j] * known[:, j] >= 0.5).any():
            raise AdaptError(f"new lane {label!r} has no example as long as one analysis window ({items[0].window:g} s)")
    # Embeddings cached before they carried band features are narrower: then every lane reads the
    # embedding alone, as before.
    width = min(it.embeddings.shape[1] for it in items)
    if width < weight.shape[1]:
        raise AdaptError(f"the cached embeddings are {width} wide but model {base.name} reads {weight.shape[1]}: "
                         "analyse the recordings again")
    n_embed = embed_width(base)
    weight = np.pad(weight, ((0, 0), (0, width - weight.shape[1])))
    # Which lanes read the band features: new lanes (when the embeddings carry them), and lanes taught
    # so before. The shipped lanes keep to the embedding: corrections fitted on the bands too moved the
    # OPL3 takes of benchmarks/adaptation.py by -0.03 to +0.02 F1, no gain.
    banded = np.concatenate([np.abs(weight[:, n_embed:]).sum(1) > 0, np.full(len(new), width > n_embed)])
    if not banded.any():  # nothing reads the bands: fit on the embedding alone (a third of the time)
        width, weight = n_embed, weight[:, :n_embed]
    x = np.concatenate([it.embeddings[:, :width] for it in items], dtype=np.float32)
    # A lane the editor left as it was shown was right where they looked: it keeps its row exactly. (Its
    # window scores may still cross 0.5 where no region showed, under the shortest region or a stronger
    # lane; fitting those windows to "absent" cost an untouched lane up to 0.08 F1.)
    keep = left_as_shown(base, items) if checked_labels is None else None
    if keep is not None and keep.all() and not new:
        # A review that agrees with the model everywhere (an analysis saved as it came) would write a
        # model identical to its base, and its figures would read like a success.
        raise AdaptError("no corrections to learn from: in the reviewed spans every lane has the regions the "
                         "model shows (at the default region settings); correct some first")
    members = member_widths(base)
    if members:  # an ensemble: each network's part of the head on its own, its band features with it
        w, b = fit_member_heads(x, targets, known, weight, bias, members, fit, progress, should_cancel, keep=keep,
                                band_widths=member_band_widths(base) if banded.any() else None, banded=banded)
    else:
        w, b = fit_head(x, targets, known, weight, bias, fit, progress, should_cancel,
                        bands_from=n_embed if banded.any() else None, banded=banded, keep=keep)
    model = _with_head(base, labels, w, b, items, new, name)
    figures = _figures(x, targets, known, labels, (weight, bias), (w, b))
    seconds = sum(float(np.sum(np.diff(np.asarray(it.review.spans(it.duration)), axis=1)))
                  for it in items if it.review.spans(it.duration))
    figures["reviewed_seconds"] = seconds
    return Adapted(model, new, _summary(seconds, len(items), figures), figures)


SHOWN_TOLERANCE = 0.05  # seconds an edge may differ from the shown one and count as left as it was


def left_as_shown(model: LoadedModel, items: Sequence[Embedded], params: RegionParams | None = None) -> np.ndarray:
    """Per label of ``model``: whether every review has exactly the regions it was shown (`Review.shown`)
    inside its checked spans, so the editor left that lane as it was. A review that does not know what
    was shown is compared with the model's own regions at ``params`` (default: the default region
    settings, as `analyze --json` writes them)."""
    same = np.ones(len(model.labels), bool)
    for it in items:
        spans = merged_spans(it.review.spans(it.duration))
        shown = it.review.shown
        if shown is None:
            shown = find_regions(*activity_from_embeddings(model, it), model.labels, params or RegionParams(),
                                 duration=it.duration)
        for j, label in enumerate(model.labels):
            if same[j]:
                a = _clipped([r for r in it.review.regions if r.label == label], spans)
                b = _clipped([r for r in shown if r.label == label], spans)
                same[j] = len(a) == len(b) and all(
                    abs(x0 - y0) <= SHOWN_TOLERANCE and abs(x1 - y1) <= SHOWN_TOLERANCE
                    for (x0, x1), (y0, y1) in zip(a, b, strict=True))
    return same


def _clipped(regions: Sequence[Region], spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of ``regions`` inside ``spans``, merged."""
    return merged_spans([(max(r.start, s), min(r.end, e)) for r in regions for s, e in spans
                    if min(r.end, e) > max(r.start, s)])


def lane_from_examples(
    base: LoadedModel, items: Sequence[Embedded], lane: str, examples: Sequence[Sequence[tuple[float, float]]],
    **kwargs,
) -> Adapted:
    """A model with one more lane, ``lane``, fitted on ``examples`` (per item, spans where it sounds)
    against the rest of the recordings; the other lanes keep their old scores. ``kwargs`` go to
    `adapt_model` (``name`` there is the adapted model's)."""
    lane = lane_name(lane)
    check_new_lane(lane, base.labels, [span for per_item in examples for span in per_item],
                   items[0].window if items else None)
    marked = [Embedded(Review(it.review.source, [Region(lane, s, e) for s, e in ex], list(ex), it.review.name),
                       it.duration, it.hop, it.window, it.embeddings)
              for it, ex in zip(items, examples, strict=True)]
    adapted = adapt_model(base, marked, checked_labels=[lane], **kwargs)
    n = sum(len(ex) for ex in examples)
    score = adapted.figures["labels"].get(lane, {}).get("f1_after")
    how = f": they now score F1 {score:.2f}" if score is not None else ""
    adapted.summary = (f"new lane {lane!r} from {counted(n, 'example')} "
                       f"({adapted.figures['reviewed_seconds']:.0f} s){how}")
    return adapted


def remove_lanes(base: LoadedModel, labels: Sequence[str], name: str | None = None) -> Adapted:
    """A copy of ``base`` without the lanes ``labels`` (an output each): a lane added from examples goes
    again, the others keep their scores exactly. Raises AdaptError for an unknown label or the last one."""
    # A name as typed ("Oboe ", "TRUMPET") means the lane spelt so, as a review's label does.
    gone = list(dict.fromkeys(lane_in_use(label, base.labels) or label for label in labels))
    unknown = [label for label in gone if label not in base.labels]
    if unknown:
        raise AdaptError(f"no lane {unknown[0]!r} in model {base.name}")
    keep = [j for j, label in enumerate(base.labels) if label not in gone]
    if not keep:
        raise AdaptError("a model needs at least one lane")
    weight, bias = base_head(base)
    labels_left = tuple(base.labels[j] for j in keep)
    adaptation = dict(base.card.get("adaptation") or {})
    default_name = base.name if adaptation else f"{base.name}-adapted"
    weight = weight[keep]
    n_embed = embed_width(base)
    if not np.any(weight[:, n_embed:]):  # no lane left reads the band features: the plain head again
        weight = weight[:, :n_embed]
    model = _with_head(base, labels_left, weight, bias[keep], [], (), name or default_name)
    # Removing outputs learns nothing: no reviews of its own; its base is the model the lanes were removed
    # from (named, with its file and hash, and what that one was adapted on as `base_adaptation`), and the
    # lanes taught from examples that are left, and every lane removed so far, are carried on.
    model.card["adaptation"].update(new_labels=[x for x in adaptation.get("new_labels", []) if x in labels_left],
                                    removed_labels=[*adaptation.get("removed_labels", []), *gone],
                                    head="the base head without the removed lanes")
    return Adapted(model, (), f"removed lane{'s' if len(gone) > 1 else ''} {', '.join(gone)}", {"removed": gone})


def _with_head(base: LoadedModel, labels: tuple[str, ...], w: np.ndarray, b: np.ndarray,
               items: Sequence[Embedded], new: tuple[str, ...], name: str | None) -> LoadedModel:
    module = copy.deepcopy(base.module)
    bands = LANE_BANDS if w.shape[1] > embed_width(base) else 0
    if hasattr(module, "head_bands"):
        module.head_bands = bands
    module.head = nn.Conv1d(w.shape[1], len(labels), 1)
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(w)[:, :, None])
        module.head.bias.copy_(torch.from_numpy(b))
    module.eval()
    card = {k: v for k, v in base.card.items()
            if k not in ("calibration", "metrics", "training", "notes", "parameters", "adaptation")}
    arch = copy.deepcopy(base.card.get("architecture", {"type": "activity_cnn", "params": {}}))
    arch.setdefault("params", {})["n_labels"] = len(labels)
    arch["params"].pop("head_bands", None)
    if bands:
        arch["params"]["head_bands"] = bands
    card.update(architecture=arch, labels=list(labels), name=name or f"{base.name}-adapted", adaptation={
        "base": base.name,
        "base_path": str(base.path) if base.path else None,
        "base_sha256": weights_hash(base.path),
        "network_sha256": network_id(base),
        "base_adaptation": base.card.get("adaptation"),
        # Absolute, as a session stores its recording: a name relative to where the command ran leads nowhere later.
        "sessions": [os.path.abspath(it.review.name or it.review.source) for it in items],
        "recordings": [os.path.abspath(it.review.source) for it in items],
        "labels": list(labels),
        "new_labels": list(new),
        "head": "linear head refitted on window embeddings; the base calibration is folded into its biases"
                + (f"; lanes taught from examples also read the last block's features in {bands} frequency bands"
                   if bands else ""),
    })
    return LoadedModel(module=module, card=card, labels=labels, name=card["name"], window_seconds=base.window_seconds,
                       features=base.features, path=None)


def save_adapted(adapted: Adapted, path: str | Path) -> tuple[Path, Path]:
    """Weights and card, written atomically like every model file."""
    weights, card = save_model(adapted.model.module, adapted.model.card, path)
    adapted.model.path = weights
    return weights, card


def _scores(x: np.ndarray, head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The head's scores of embeddings ``x``, of which it reads the leading features it has weights for."""
    w, b = head
    if x.shape[1] < w.shape[1]:
        raise AdaptError(f"the embeddings are {x.shape[1]} wide but the head reads {w.shape[1]}")
    # Clipped: a logit below -88 overflows float32's exp (a warning on the user's terminal), and its
    # score is 0 to float32 precision either way.
    return 1.0 / (1.0 + np.exp(-np.clip(x[:, :w.shape[1]] @ w.T + b, -80.0, 80.0)))


def _figures(x: np.ndarray, targets: np.ndarray, known: np.ndarray, labels: Sequence[str],
             before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray]) -> dict:
    """Per label, on the checked windows: window F1 at `THRESHOLD` before and after, and how many."""
    checked = known.any(axis=1)  # only these count: no need to score an hour of unchecked windows
    x, targets, known = x[checked], targets[checked], known[checked]
    old = _scores(x, before)
    new = _scores(x, after)
    per_label = {}
    for j, label in enumerate(labels):
        k = known[:, j]
        if not k.any():
            continue
        truth = targets[k, j] >= 0.5
        f1_before = _f1(truth, old[k, j] >= THRESHOLD) if j < old.shape[1] else 0.0
        per_label[label] = {"windows": int(k.sum()), "present": int(truth.sum()),
                            "f1_before": f1_before, "f1_after": _f1(truth, new[k, j] >= THRESHOLD)}
    return {"labels": per_label}


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 1.0 if denominator == 0 else 2 * tp / denominator


def _summary(seconds: float, n_items: int, figures: dict) -> str:
    rows = figures["labels"]
    present = [v for v in rows.values() if v["present"]]
    if present:
        before = sum(v["f1_before"] for v in present) / len(present)
        after = sum(v["f1_after"] for v in present) / len(present)
        how = f"the corrected regions now score F1 {after:.2f} (was {before:.2f})"
    else:
        how = "no instrument plays in the corrected spans"
    where = f"{n_items} recordings" if n_items > 1 else "1 recording"
    return f"adapted on {seconds:.0f} corrected seconds in {where}: {how}"


def activity_from_embeddings(model: LoadedModel, item: Embedded) -> tuple[np.ndarray, np.ndarray]:
    """(times, activity) of ``model`` over a recording, from its cached embeddings: what a new analysis
    would give (to float16 rounding), without reading the audio again."""
    w, b = base_head(model)
    # Only the columns the head reads are converted (an hour of band features is 14 MB as float32); a
    # narrower cache stays narrower, which `_scores` refuses.
    probs = _scores(item.embeddings[:, :w.shape[1]].astype(np.float32), (w, b)).astype(np.float32)
    n_bins = max(1, math.ceil(round(item.duration / item.hop, 6)))
    agg = BinAggregator(BinAggregator.windows_per_bin(item.window, item.hop), n_bins, len(model.labels))
    activity = agg.push(probs, final=True)
    return bin_times(len(activity), item.hop), np.clip(activity, 0.0, 1.0)
