"""Would cutting each corrected lane at another score help after adapting? (Issue 13; a negative result.)

On takes of a family the shipped model never heard (`adaptation.py`'s takes and editor), after adapting on
N corrected solos, each lane's logits are shifted by an offset from -2 to +2 before regions are drawn.
Two ways to pick the offsets are scored on the untouched second halves: the one an editor's review allows
(per lane, the offset whose regions best match the corrected regions inside the checked spans, 1 s
segment F1; 0 on a tie or where the lane never plays there), and the one no editor could know (per lane,
the offset best on the second halves themselves), an upper bound for any rule of this kind.

    python benchmarks/adaptation_offsets.py                         # tuning takes: OPL3 seeds 310-312
    python benchmarks/adaptation_offsets.py --seeds 300,301,302 --corrections 3
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adaptation import CACHE, cached_take, editor_reviews, second_half_scores  # noqa: E402

from studio_tagger.adapt import Review, activity_from_embeddings, adapt_model  # noqa: E402
from studio_tagger.adapt.adapter import embed_review  # noqa: E402
from studio_tagger.analysis import Analyzer, find_regions  # noqa: E402
from studio_tagger.analysis.regions import RegionParams  # noqa: E402
from training.report import prf, segment_activity  # noqa: E402

OFFSETS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


def shifted(activity: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Activity with each lane's logit moved by its offset."""
    a = np.clip(activity, 1e-6, 1 - 1e-6)
    return 1.0 / (1.0 + np.exp(-(np.log(a / (1 - a)) + offsets)))


def review_offset(reviews: list[Review], durations: dict, acts: dict, labels, params: RegionParams, lane: int) -> float:
    """The offset of one lane whose regions best redraw the review's regions in its checked spans."""
    best: tuple[float, float] | None = None
    for offset in OFFSETS:
        counts = np.zeros(3)
        for review in reviews:
            times, activity = acts[review.source]
            moved = np.zeros(len(labels))
            moved[lane] = offset
            duration = durations[review.source]
            regions = find_regions(times, shifted(activity, moved), labels, params, duration=duration)
            truth = segment_activity(review.regions, labels, duration)[:, lane]
            drawn = segment_activity(regions, labels, duration)[:, lane]
            for start, end in review.reviewed:
                t, p = truth[int(start):int(end)], drawn[int(start):int(end)]
                counts += [(t & p).sum(), (~t & p).sum(), (t & ~p).sum()]
        if counts[0] + counts[2] == 0:
            return 0.0  # the lane never plays where the editor looked: nothing to cut by
        f1 = prf(*counts)[2]
        if best is None or f1 > best[0] + 1e-9 or (abs(f1 - best[0]) <= 1e-9 and abs(offset) < abs(best[1])):
            best = (f1, offset)
    return best[1] if best else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", default="OPL3_FM")
    ap.add_argument("--seeds", default="310,311,312", help="take seeds (310-312: the benchmark's tuning takes)")
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--corrections", type=int, nargs="+", default=[1, 3, 10])
    ap.add_argument("--model", help="base model (default: shipped)")
    args = ap.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    analyzer = Analyzer(args.model, device="cpu", embeddings=True)
    base, params = analyzer.model, RegionParams()
    labels = base.labels
    takes, embedded = [], {}
    for seed in (int(s) for s in args.seeds.split(",")):
        audio, solos = cached_take(args.bank, args.minutes, seed, CACHE)
        item, result = embed_review(analyzer, Review(audio, []))
        takes.append((audio, result.duration, solos))
        embedded[audio] = item
    durations = {audio: duration for audio, duration, _ in takes}
    before = second_half_scores(labels, takes, [activity_from_embeddings(base, embedded[a]) for a in durations], params)
    print(f"{len(takes)} {args.bank} takes; shipped model: second-half segment F1 {before['f1']:.3f}")
    for n in args.corrections:
        reviews = editor_reviews(takes, n)
        items = [replace(embedded[r.source], review=r) for r in reviews]
        adapted = adapt_model(base, items).model
        acts = {a: activity_from_embeddings(adapted, embedded[a]) for a in durations}

        def scored(offsets: np.ndarray, acts: dict = acts) -> dict:
            return second_half_scores(labels, takes, [(acts[a][0], shifted(acts[a][1], offsets)) for a in durations],
                                      params)

        chosen = np.array([review_offset(reviews, durations, acts, labels, params, i) for i in range(len(labels))])
        bound = np.zeros(len(labels))
        for i, label in enumerate(labels):
            f1 = {o: scored(np.where(np.arange(len(labels)) == i, o, 0.0))["per_label"].get(label, 0.0) for o in OFFSETS}
            bound[i] = max(OFFSETS, key=lambda o, f1=f1: (f1[o], -abs(o)))  # a tie goes to the smaller offset
        after, by_review, by_truth = scored(np.zeros(len(labels))), scored(chosen), scored(bound)
        print(f"{n:>2} corrected solos: adapted {after['f1']:.3f} ({after['f1'] - before['f1']:+.3f}); offsets from "
              f"the review {by_review['f1']:.3f} ({by_review['f1'] - after['f1']:+.3f} against the adapted head); "
              f"offsets best on the second halves {by_truth['f1']:.3f} ({by_truth['f1'] - before['f1']:+.3f} "
              f"against the shipped model)")
        for i, label in enumerate(labels):
            print(f"     {label:<26} offsets {chosen[i]:+.1f} / {bound[i]:+.1f}   F1 {before['per_label'].get(label, 0):.3f}"
                  f" -> {after['per_label'].get(label, 0):.3f} / {by_review['per_label'].get(label, 0):.3f} / "
                  f"{by_truth['per_label'].get(label, 0):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
