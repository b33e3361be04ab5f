"""Adapting the shipped model to an editor's corrections, measured on takes of a family it never heard.

Renders takes with known solos (`training.takes`, not committed; cached) in the OPL3 FM bank, which the
shipped model was not trained on, analyses each once (keeping the window embeddings), then plays an
editor: the first N solos of the first halves are corrected from the truth, each as a whole region,
the stretch up to the end of each take's last corrected solo counting as checked. The model is adapted on that (`studio_tagger.adapt`) and the
untouched second halves are scored before and after: segment F1 (1 s) and solos found, overall and per
lane. New-lane runs add phrases of an instrument outside the vocabulary to takes of a sampled bank, mark
three in the first halves and score the new lane on the second halves: oboe, cello, French horn and
acoustic guitar (training has them among its accompaniment, so the network has heard them, as not one
of the eight) and accordion (no training clip has one). With ``--real-lanes``, the same on takes played
from real recordings (`../shared/realdata`): phrases of a real French horn or trombone over a real bed of
the other low brass and winds, real solos of the eight as well. Last, the time to adapt on a 1 h take's
worth of windows.

    python benchmarks/adaptation.py                      # 3 OPL3 takes of 8 minutes, 1/3/10 corrections
    python benchmarks/adaptation.py --takes 2 --minutes 4 --corrections 3
    python benchmarks/adaptation.py --corrections 1 --new-lanes "" --real-lanes "french horn,trombone"
    python benchmarks/adaptation.py --take-dir DIR --new-lanes ""   # corrections on takes rendered before
    python benchmarks/adaptation.py --editor doubtful --corrections 3 16 --new-lanes ""

With ``--editor doubtful`` the editor checks the 10 s spans of the first halves where the base model's lanes are
least sure (`studio_tagger.adapt.doubt`, the app's Analysis > Next Span to Check) instead of correcting the first
solos: each span is checked whole, every solo in it marked. Each row says how many seconds were checked, so
the two editors can be compared at equal listening.

With ``--take-dir`` the corrections are played on the takes of a folder (each audio file with its truth JSON,
as `training.takes` and `training.realtakes` write them) instead of rendered ``--bank`` takes: e.g. the
held-out real piano played with one hand, over a real bed (`training.realtakes --piano-lines`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio_tagger.adapt import Embedded, Review, activity_from_embeddings, adapt_model, lane_from_examples  # noqa: E402
from studio_tagger.adapt.adapter import embed_review, embed_width  # noqa: E402
from studio_tagger.adapt.doubt import SPAN, spans_to_check  # noqa: E402
from studio_tagger.analysis import Analyzer, find_regions  # noqa: E402
from studio_tagger.analysis.regions import Region, RegionParams  # noqa: E402
from studio_tagger.models import LoadedModel  # noqa: E402
from training.phrases import FAST, Harmony, Style, get_style, make_phrase, pick_program  # noqa: E402
from training.render import SAMPLE_RATE, Part, Placement, render, sounding_extent  # noqa: E402
from training.report import Event, match_solos, prf, segment_activity  # noqa: E402
from training.soundfonts import get_soundfont, style_programs  # noqa: E402
from training.takes import render_take, write_take  # noqa: E402

CACHE = Path.home() / ".cache" / "studio-tagger" / "adaptation"
NEW_LANES = ("oboe", "accordion", "cello", "french horn", "acoustic guitar")
OUTSIDE_TRAINING = {"accordion": Style("accordion", ((21, 1.0),), 53, 84, (60, 130), "melody", FAST, 0.5, 0.15,
                                       (0, 8), 0.0, 6.0)}
"""Styles of sounds no training clip holds (GM 21, accordion), for a new lane the network never heard."""


REAL_LANES = {"french horn": "tonejs_vso2/french horn", "trombone": "tonejs_vso2/trombone",
              "bassoon": "tonejs_vso2/bassoon", "tuba": "tonejs_vso2/tuba"}
"""Real instruments of `../shared/realdata` outside the eight, and their groups of notes."""
REAL_SOLO_SOURCES = ("weresax", "emily_guitar", "ixox_flute", "tonejs_vso2")
"""Real sources whose notes of the eight play solos in the real takes (sax, guitar, flute, violin, ...)."""


def cached_take(bank: str, minutes: float, seed: int, folder: Path, extra_lane: str = "") -> tuple[Path, list[Event]]:
    """A rendered take (audio + truth JSON) in ``folder``; with ``extra_lane``, its phrases mixed in. The
    bank "real" plays the take from real recordings (an ``extra_lane`` of `REAL_LANES`)."""
    stem = f"take_{bank}_{minutes:g}m_s{seed}" + (f"_{extra_lane}" if extra_lane else "")
    audio = folder / f"{stem}.flac"
    truth = audio.with_suffix(".json")
    if not truth.exists():
        if bank == "real":
            take = _real_take_with_lane(minutes, seed, extra_lane)
        else:
            take = render_take(bank, minutes, seed)
            if extra_lane:
                take = _with_lane(take, seed, extra_lane)
        write_take(take, audio)
    data = json.loads(truth.read_text(encoding="utf-8"))
    return audio, [Event(s["label"], s["start"], s["end"]) for s in data["solos"]]


def _mix_in(mix: np.ndarray, bed: np.ndarray, rate: int, starts: list[int], phrase, name: str, solos: list):
    """``mix`` with ``phrase(i)`` added at each of ``starts`` (samples), 8 dB over ``bed`` where it sounds,
    then brought to a peak of 0.89, and ``solos`` with a solo of ``name`` for each, in time order."""
    from training.takes import TRUTH_FLOOR_DB, Solo, rms

    mix, solos = mix.copy(), list(solos)
    for i, a in enumerate(starts):
        stem = phrase(i)[: len(mix) - a]
        extent = sounding_extent(stem, TRUTH_FLOOR_DB)
        if extent is None:
            continue
        gain = rms(bed[a + extent[0]: a + extent[1]]) * 10 ** (8 / 20) / max(rms(stem[extent[0]: extent[1]]), 1e-9)
        mix[a: a + len(stem)] += stem * gain
        solos.append(Solo(name, round((a + extent[0]) / rate, 3), round((a + extent[1]) / rate, 3)))
    mix *= 0.89 / max(float(np.abs(mix).max()), 1e-9)
    solos.sort(key=lambda s: (s.start, s.label))
    return mix, solos


def _with_lane(take, seed: int, name: str):
    """The take with six phrases of ``name`` of 8-12 s at even places over it (three per half), 8 dB over
    the bed."""
    rng = np.random.default_rng(seed + 1000)
    sfont = get_soundfont(take.bank)
    style = OUTSIDE_TRAINING.get(name) or get_style(name)
    harmony = Harmony.random(rng, (80.0, 110.0))

    def phrase(_: int) -> np.ndarray:
        bars = max(2, round(rng.uniform(8, 12) / (4 * harmony.beat)))
        part = Part(pick_program(style_programs(style, sfont), rng),
                    (Placement(0.0, make_phrase(style, rng, replace(harmony, first_bar=0), bars), reverb=40),))
        return render([part], sfont, bars * 4 * harmony.beat + 2.0)

    starts = [int((i + 0.25) * take.duration / 6 * SAMPLE_RATE) for i in range(6)]
    mix, solos = _mix_in(take.audio, take.bed, SAMPLE_RATE, starts, phrase, name, take.solos)
    return replace(take, audio=mix.astype(np.float32), solos=solos)


def _real_take_with_lane(minutes: float, seed: int, name: str):
    """A take of real recordings (`training.realtakes`) whose bed leaves out ``name``, with six phrases of
    its real notes of 8-12 s at even places (three per half), 8 dB over the bed."""
    import soxr

    from training import notephrases
    from training.realdata import RATE, groups, read_manifest, realdata_root
    from training.realtakes import BED_LINES, render_real_take

    by_group = groups(read_manifest(realdata_root(None)))
    solo_groups = sorted(g for g, v in by_group.items() if v[0].source in REAL_SOLO_SOURCES and v[0].label is not None)
    group = REAL_LANES[name]
    take = render_real_take(by_group, solo_groups, minutes, seed, f"real+{name}",
                            bed_lines=[g for g in BED_LINES if g != group])
    rng = np.random.default_rng(seed + 1000)
    mix = soxr.resample(take.audio, SAMPLE_RATE, RATE).astype(np.float32)
    bed = soxr.resample(take.bed, SAMPLE_RATE, RATE).astype(np.float32)
    starts = [int((i + 0.25) * len(mix) / 6) for i in range(6)]
    mix, solos = _mix_in(mix, bed, RATE, starts, lambda _: notephrases.melodic(by_group[group], rng, float(rng.uniform(8.0, 12.0))),
                         name, take.solos)
    return replace(take, audio=soxr.resample(mix, RATE, SAMPLE_RATE).astype(np.float32), solos=solos)


def round_robin(available: list[list], n: int) -> list[list]:
    """The first ``n`` items taken in turn from each take's list (the first of each, then the second of each,
    ...), skipping takes that have run out: what an editor working through several takes does."""
    counts = [0] * len(available)
    for i in range(n):
        k = i % len(available)
        if counts[k] < len(available[k]):
            counts[k] += 1
    return [items[:c] for items, c in zip(available, counts, strict=True)]


def editor_reviews(takes, n_corrections: int) -> list[Review]:
    """The first solos of each take's first half corrected in turn (round robin over the takes), each as a
    whole region, as an editor fixes a region; each take is checked from its start to the end of its last
    corrected solo, so a solo overlapping that stretch is marked too (the editor saw it)."""
    first = [[s for s in solos if s.end <= duration / 2] for _, duration, solos in takes]
    reviews = []
    for (audio, duration, solos), mine in zip(takes, round_robin(first, n_corrections), strict=True):
        if not mine:
            continue
        checked_to = min(duration / 2, max(s.end for s in mine) + 0.5)
        regions = [Region(s.label, s.start, min(s.end, checked_to)) for s in solos if s.start < checked_to]
        reviews.append(Review(audio, regions, [(0.0, checked_to)]))
    return reviews


def doubtful_reviews(base: LoadedModel, takes, embedded: dict, n_spans: int, params: RegionParams) -> list[Review]:
    """The editor of "Next Span to Check": ``n_spans`` spans of the first halves where the base model's lanes
    are least sure (`spans_to_check`), round robin over the takes, each checked whole: every solo in it
    marked (clipped to the span), every other lane absent there."""
    ranked = []
    for audio, duration, _ in takes:
        times, activity = activity_from_embeddings(base, embedded[audio])
        ranked.append(spans_to_check(times, activity, base.labels, params, duration=duration, count=n_spans,
                                     within=(0.0, duration / 2)))
    reviews = []
    for (audio, _, solos), mine in zip(takes, round_robin(ranked, n_spans), strict=True):
        spans = [(span.start, span.end) for span in mine]
        if spans:
            regions = [Region(s.label, max(s.start, a), min(s.end, b)) for s in solos for a, b in spans
                       if min(s.end, b) > max(s.start, a)]
            reviews.append(Review(audio, regions, spans))
    return reviews


def second_half_scores(labels, takes, activities, params: RegionParams) -> dict:
    """Segment F1 per label and overall, and solos found, on the second half of every take."""
    counts = np.zeros((len(labels), 3))
    solos_all, found = 0, 0
    for (_, duration, solos), (times, activity) in zip(takes, activities, strict=True):
        regions = find_regions(times, activity, labels, params, duration=duration)
        truth = segment_activity(solos, labels, duration)
        pred = segment_activity(regions, labels, duration)
        late = slice(int(np.ceil(duration / 2)), None)
        t, p = truth[late], pred[late]
        counts += np.stack([(t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)], axis=1)
        late_solos = [s for s in solos if s.start >= duration / 2 and s.label in labels]
        matched = match_solos(late_solos, regions)
        solos_all += len(matched)
        found += sum(m.found for m in matched)
    per_label = {label: prf(*counts[i])[2] for i, label in enumerate(labels) if counts[i].sum()}
    return {"f1": prf(*counts.sum(0))[2], "per_label": per_label, "solos": solos_all, "found": found}


def edited_labels(reviews: list[Review], base_regions: dict) -> set[str]:
    """The lanes the editor changed in the checked spans: a region kept, added or moved (every solo there),
    or a false region deleted (a base region over no solo of its label). The others were right already."""
    labels = {r.label for rv in reviews for r in rv.regions}
    for rv in reviews:
        for region in base_regions[rv.source]:
            inside = any(s < region.end and region.start < e for s, e in rv.reviewed)
            true = any(t.label == region.label and t.start < region.end and region.start < t.end for t in rv.regions)
            if inside and not true:
                labels.add(region.label)
    return labels


def run_corrections(base: LoadedModel, analyzer: Analyzer, takes, embedded: dict, corrections, params,
                    editor: str = "first-solos") -> list[dict]:
    base_activity = {a: activity_from_embeddings(base, embedded[a]) for a, _, _ in takes}
    base_regions = {a: find_regions(*base_activity[a], base.labels, params, duration=d) for a, d, _ in takes}
    before = second_half_scores(base.labels, takes, [base_activity[a] for a, _, _ in takes], params)
    rows = []
    print(f"before: segment F1 {before['f1']:.3f}, solos found {before['found']}/{before['solos']}")
    for n in corrections:
        reviews = editor_reviews(takes, n) if editor == "first-solos" else doubtful_reviews(base, takes, embedded, n, params)
        items = [Embedded(r, embedded[r.source].duration, embedded[r.source].hop, embedded[r.source].window,
                          embedded[r.source].embeddings) for r in reviews]
        started = time.perf_counter()
        adapted = adapt_model(base, items)
        elapsed = time.perf_counter() - started
        after = second_half_scores(base.labels, takes,
                                   [activity_from_embeddings(adapted.model, embedded[a]) for a, _, _ in takes], params)
        corrected = edited_labels(reviews, base_regions)
        change = {k: after["per_label"].get(k, 0.0) - v for k, v in before["per_label"].items()}
        worst = min((v for k, v in change.items() if k not in corrected), default=0.0)
        taught = float(np.mean([v for k, v in change.items() if k in corrected])) if corrected & set(change) else 0.0
        marked = sum(len(rv.regions) for rv in reviews)
        heard = sum(e - s for rv in reviews for s, e in rv.reviewed or [])
        what = "corrected solos" if editor == "first-solos" else "doubtful spans checked"
        print(f"{n:>2} {what} ({heard:.0f} s checked, {marked} regions marked; lanes changed: {', '.join(sorted(corrected))}): segment F1 {before['f1']:.3f} -> "
              f"{after['f1']:.3f} ({after['f1'] - before['f1']:+.3f}), solos found {before['found']} -> "
              f"{after['found']} of {after['solos']}; corrected lanes {taught:+.3f} on average; "
              f"worst change of an uncorrected lane {worst:+.3f}; "
              f"adapt {elapsed:.2f} s")
        for label in base.labels:
            if label in before["per_label"] or label in after["per_label"]:
                print(f"     {label:<26} {before['per_label'].get(label, 0):.3f} -> {after['per_label'].get(label, 0):.3f}"
                      + ("  (corrected)" if label in corrected else ""))
        rows.append({"corrections": n, "editor": editor, "seconds_checked": heard, "regions_marked": marked,
                     "before": before, "after": after, "corrected": sorted(corrected),
                     "corrected_mean_change": taught, "worst_uncorrected": worst,
                     "seconds": elapsed})
    return rows


def run_new_lane(base: LoadedModel, analyzer: Analyzer, name: str, bank: str, minutes: float, seeds, folder: Path,
                 params: RegionParams, examples: int = 3, embedding_only: bool = False) -> dict:
    takes, items = [], []
    for seed in seeds:
        audio, solos = cached_take(bank, minutes, seed, folder, extra_lane=name)
        item, result = embed_review(analyzer, Review(audio, []))
        if embedding_only:  # as a session cached before the band features: the lane reads the embedding alone
            item = replace(item, embeddings=item.embeddings[:, :embed_width(base)])
        takes.append((audio, result.duration, solos))
        items.append(item)
    # The marked examples over the takes' first halves, in time order, round robin.
    first = [[s for s in solos if s.label == name and s.end <= d / 2] for _, d, solos in takes]
    marks = [[(s.start, s.end) for s in mine] for mine in round_robin(first, examples)]
    adapted = lane_from_examples(base, items, name, marks)
    scores = second_half_scores(adapted.model.labels, takes,
                                [activity_from_embeddings(adapted.model, it) for it in items], params)
    f1 = scores["per_label"].get(name, 0.0)
    late = [s for _, d, solos in takes for s in solos if s.label == name and s.start >= d / 2]
    n = sum(len(m) for m in marks)
    print(f"new lane '{name}' from {n} examples ({bank}): second-half segment F1 {f1:.3f}, "
          f"{len(late)} phrases to find")
    return {"lane": name, "bank": bank, "f1": f1, "marks": marks, "examples": n}


def time_one_hour(base: LoadedModel, item: Embedded) -> tuple[float, float]:
    """Seconds to adapt on one hour of windows (the take's embeddings repeated), 3 regions corrected, and
    to teach a new lane there from three 10 s examples (it reads the band features too)."""
    n = int(3600 / item.hop)
    reps = int(np.ceil(n / len(item.embeddings)))
    big = replace(item, embeddings=np.tile(item.embeddings, (reps, 1))[:n], duration=3600.0)
    started = time.perf_counter()
    adapt_model(base, [big])
    corrections = time.perf_counter() - started
    started = time.perf_counter()
    lane_from_examples(base, [big], "new lane", [[(600.0, 610.0), (1800.0, 1810.0), (3000.0, 3010.0)]])
    return corrections, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank", default="OPL3_FM")
    ap.add_argument("--lane-bank", default="TimGM6mb")
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=300,
                    help="seed of the first rendered take (300: the benchmark's takes; 310, 313, ...: tuning takes)")
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--corrections", type=int, nargs="+", default=[1, 3, 10],
                    help="how many solos the editor corrects (with --editor doubtful: how many spans they check)")
    ap.add_argument("--editor", choices=("first-solos", "doubtful"), default="first-solos",
                    help="first-solos: the first solos of the first halves, each corrected whole; doubtful: the "
                         f"{SPAN:g} s spans of the first halves where the lanes are least sure (the app's Next Span "
                         "to Check), each checked and marked")
    ap.add_argument("--new-lanes", default=",".join(NEW_LANES), help="instruments to teach as new lanes")
    ap.add_argument("--examples", type=int, default=3, help="marked examples per new lane (the app takes 2-5)")
    ap.add_argument("--embedding-only", action="store_true",
                    help="new lanes read the embedding alone, without the band features (as before them)")
    ap.add_argument("--real-lanes", default="", help=f"new lanes on takes of real recordings: of {', '.join(REAL_LANES)}")
    ap.add_argument("--take-dir", type=Path,
                    help="correct the takes of this folder (truth JSON beside each) instead of rendered --bank takes")
    ap.add_argument("--model", help="base model (default: shipped)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    analyzer = Analyzer(args.model, device="cpu", embeddings=True)
    base = analyzer.model
    params = RegionParams()
    seeds = range(args.seed, args.seed + args.takes)
    if args.take_dir:
        from training.evaluate import read_take, take_files

        sources = [(audio, solos) for audio, _, solos in map(read_take, take_files([args.take_dir]))]
        if not sources:
            ap.error(f"--take-dir: no take (truth JSON) in {args.take_dir}")
        where = f"takes of {args.take_dir}"
    else:
        sources = [cached_take(args.bank, args.minutes, seed, args.cache) for seed in seeds]
        where = f"{args.bank} takes of {args.minutes:g} min"
    takes, embedded = [], {}
    for audio, solos in sources:
        item, result = embed_review(analyzer, Review(audio, []))
        takes.append((audio, result.duration, solos))
        embedded[audio] = item
    print(f"base model {base.name}; {len(takes)} {where}")
    rows = run_corrections(base, analyzer, takes, embedded, args.corrections, params, args.editor)
    lanes = [run_new_lane(base, analyzer, name, args.lane_bank, args.minutes, seeds, args.cache, params, args.examples,
                          args.embedding_only)
             for name in args.new_lanes.split(",") if name]
    if lanes:
        print(f"new lanes, mean second-half segment F1: {np.mean([lane['f1'] for lane in lanes]):.3f}")
    real = [run_new_lane(base, analyzer, name, "real", args.minutes, range(900, 900 + args.takes), args.cache, params,
                         args.examples, args.embedding_only) for name in args.real_lanes.split(",") if name]
    if real:
        print(f"new lanes on real recordings, mean second-half segment F1: {np.mean([lane['f1'] for lane in real]):.3f}")
    lanes += real
    hour, lane_hour = time_one_hour(base, embedded[takes[0][0]])
    print(f"adapting on a 1 h take's windows: {hour:.2f} s; a new lane there: {lane_hour:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"corrections": rows, "new_lanes": lanes, "one_hour_seconds": hour,
                                         "new_lane_one_hour_seconds": lane_hour}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
