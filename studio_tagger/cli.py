"""The command line: classify and analyze recordings, tag archives, export regions; `studio-tagger FILE`
opens the app.

Exit status: 0 on success, 2 on usage errors (argparse's, and unknown formats or instrument names), 1 with
a one-line message on any other failure (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .counted import counted
from .jsontext import json_text
from .oneline import one_line

if TYPE_CHECKING:  # the engine imports torch: loaded only when a command needs it
    from .analysis import AnalysisResult, Region

SUBCOMMANDS = ("classify", "analyze", "batch", "export", "adapt", "install-desktop", "app")
_OWN_PROCESS = False
"""True when `run` started this process for one command (the console script, ``python -m``)."""


class CliError(Exception):
    """A failure to report in one line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job manager or `kill` stopping the command), unwound as Ctrl+C is so that no output is
    left half-written: every write is atomic and removes its temporary file on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class UsageError(CliError):
    """A command line that names something that does not exist (a format, an instrument): exit status 2,
    like argparse's own usage errors, but one line that lists the valid names."""


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="PATH", help="model (.safetensors beside its .json card); default: shipped; "
                   "'accurate': the shipped three-network model (fewer false regions, about half the speed on a CPU)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where inference runs")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary on stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    """The options `analyze` and `batch` share; the defaults shown are read from the code that applies them,
    so they cannot drift apart."""
    from .analysis.aggregate import DEFAULT_HOP
    from .analysis.regions import RegionParams

    region = RegionParams()
    p.add_argument("--hop", type=_hop, default=DEFAULT_HOP, metavar="S",
                   help=f"seconds between windows (default {DEFAULT_HOP:g})")
    p.add_argument("--threshold", type=_fraction, metavar="P",
                   help=f"activity that opens a region (default {region.threshold_on:g}; it closes below "
                        f"{region.threshold_off:g}, or below P when P is lower)")
    p.add_argument("--smoothing", type=_seconds, metavar="S",
                   help=f"smoothing of activity curves in seconds (default {region.smoothing:g})")
    p.add_argument("--min-duration", type=_seconds, metavar="S",
                   help=f"shortest region kept, seconds (default {region.min_duration:g})")
    p.add_argument("--merge-gap", type=_seconds, metavar="S",
                   help=f"gaps shorter than this are bridged, seconds (default {region.merge_gap:g})")
    p.add_argument("--shadow-margin", type=_fraction, metavar="P",
                   help="drop a region lying inside another lane's region when that lane is at least P more "
                        f"active there: a confusion, not a duet (default {region.shadow_margin:g}; 0 keeps every "
                        "region)")


MAX_SECONDS = 24 * 3600.0
"""The longest duration an option takes: longer is surely a slip (and overflows frame counts)."""


def _seconds(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= MAX_SECONDS:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 0 to {MAX_SECONDS:g}, got {text}")
    return value


def _hop(text: str) -> float:
    value = float(text)
    if not 0.01 <= value <= MAX_SECONDS:  # the window's bound is checked once the card is read (`_check_hop`)
        raise argparse.ArgumentTypeError(f"must be from 0.01 s (one frame) to the model's window, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _export_spec(text: str) -> tuple[str, str]:
    fmt, sep, path = text.partition("=")
    if not sep or not fmt or not path:
        raise argparse.ArgumentTypeError(f"expected FORMAT=PATH, got {text!r}")
    return fmt.strip().lower(), path


def build_parser() -> argparse.ArgumentParser:
    # The defaults shown in --help are read from the code that applies them, so they cannot drift apart.
    from .interchange import DEFAULT_NAME_TEMPLATE, FORMATS

    formats = ", ".join(FORMATS)
    parser = argparse.ArgumentParser(
        prog="studio-tagger",
        description="Find where each instrument plays in recordings. `studio-tagger FILE` opens the app.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("classify", help="name the instrument of each file (archive tagging)")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", metavar="OUT", help="write [{file, label, scores}] as JSON ('-' for stdout)")
    c.add_argument("--csv", metavar="OUT",
                   help="write file,label,<score per label>,error as CSV ('-' for stdout)")
    _add_common(c)

    a = sub.add_parser("analyze", help="instrument activity over time and regions for one file")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--json", metavar="OUT", help="write the analysis as JSON ('-' for stdout)")
    a.add_argument("--export", action="append", type=_export_spec, default=[], metavar="FORMAT=PATH",
                   help=f"also export regions (repeatable); formats: {formats}")
    _add_analysis_options(a)
    a.add_argument("--regions", "--verbose", "-v", dest="list_regions", action="store_true",
                   help="list every region after the summary")
    a.add_argument("--to-check", type=_count, metavar="N",
                   help="also name the N spans of 10 s where the lanes are least sure, most doubtful first (as "
                        "the app's Next Span to Check): listen to those, then give them as 'reviewed' in a JSON "
                        "review for `adapt`; in --json as 'to_check'")
    _add_common(a)

    b = sub.add_parser("batch", help="tag every recording under folders into a results folder (resumable; "
                                     "local worker processes or a Dask cluster)")
    b.add_argument("roots", nargs="+", metavar="ROOT", help="folders (walked recursively) or files")
    b.add_argument("--out", required=True, metavar="RESULTS", help="results folder (created; reused to resume)")
    b.add_argument("--workers", type=_count, metavar="N",
                   help="local worker processes (default: one per core, or one per GPU)")
    b.add_argument("--threads", type=_count, metavar="N",
                   help="threads per local worker for the model (default: the cores shared out among the workers)")
    b.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler, e.g. tcp://host:8786")
    b.add_argument("--export", action="append", default=[], metavar="FORMAT",
                   help=f"also export each recording's regions (repeatable or comma-separated): {formats}")
    b.add_argument("--include", metavar="PATTERNS",
                   help="file name patterns, comma-separated (default: *.wav,*.flac,*.ogg,*.mp3,*.aiff,...)")
    b.add_argument("--retry-failed", action="store_true", help="tag again the recordings that failed before")
    _add_analysis_options(b)
    _add_common(b)

    e = sub.add_parser("export", help="export the regions of a session or analysis JSON")
    e.add_argument("source", metavar="SESSION_OR_JSON")
    e.add_argument("--format", required=True, metavar="F", help=f"one of {formats}")
    e.add_argument("--out", required=True, metavar="PATH")
    e.add_argument("--labels", metavar="L1,L2", help="only these instruments")
    e.add_argument("--min-score", type=_fraction, default=0.0, metavar="P")
    e.add_argument("--name", default=DEFAULT_NAME_TEMPLATE, metavar="TEMPLATE",
                   help="region names: {label}, {n} (number per instrument in time order, the same whatever is "
                        f"filtered out), {{score}} (default {DEFAULT_NAME_TEMPLATE!r})")
    e.add_argument("--merge-gap", type=_seconds, default=0.0, metavar="S", help="join same-label regions closer than S")
    e.add_argument("--debug", action="store_true", help="show tracebacks")

    t = sub.add_parser("adapt", help="adapt a model to corrected regions (sessions or JSON regions files)")
    t.add_argument("reviews", nargs="*", metavar="REVIEW",
                   help="a session (.stsession) or a JSON file {file, regions, reviewed: [[start, end], ...]}")
    t.add_argument("--new-lane", metavar="NAME",
                   help="teach only a new lane NAME: the reviews' regions labelled NAME are its examples, nothing "
                        "else in them is assumed, and the other lanes keep their scores")
    t.add_argument("--remove-lane", action="append", default=[], metavar="NAME",
                   help="drop a lane from the model (repeatable; no REVIEW needed)")
    t.add_argument("--out", required=True, metavar="MODEL", help="the adapted model (.safetensors + .json card)")
    t.add_argument("--base", metavar="MODEL", help="the model to adapt (default: shipped)")
    t.add_argument("--name", metavar="NAME", help="the adapted model's name (default: the base's + '-adapted')")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where the analysis runs")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary on stdout")
    t.add_argument("--debug", action="store_true", help="show tracebacks")

    d = sub.add_parser("install-desktop", help="add the app to the application menu and 'Open with' (freedesktop)")
    d.add_argument("--data-home", metavar="DIR",
                   help="where to install (default: $XDG_DATA_HOME, else ~/.local/share: for this user only)")
    d.add_argument("--uninstall", action="store_true", help="remove what install-desktop added")
    d.add_argument("--debug", action="store_true", help="show tracebacks")

    o = sub.add_parser("app", help="open the desktop app")
    o.add_argument("files", nargs="*", metavar="FILE")
    o.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _open_output(target: str):
    """stdout for '-', else an atomic file write."""
    if target == "-":
        return _Stdout()
    from .atomic import atomic_write

    return atomic_write(Path(target), "w", encoding="utf-8", newline="")


class _Stdout:
    def __enter__(self) -> io.TextIOBase:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()


def _progress(desc: str, quiet: bool):
    from .progress import ProgressBar

    return ProgressBar(desc, enabled=not quiet)


def _notice(bar, path: str):
    """Where the analyzer's notices go (a change of course, such as falling back to the CPU): one line
    on stderr each, shown even with --quiet because they explain a slower run."""
    return lambda text: bar.message(_printable(f"studio-tagger: notice: {path}: {text}"))


def cmd_classify(args: argparse.Namespace) -> int:
    from .analysis import Analyzer

    _refuse_overwriting(args.files, [args.json, args.csv])
    analyzer = Analyzer(args.model, device=args.device)
    rows, failed = [], 0
    n = len(args.files)
    # One bar for a library of files (files done, overall ETA); a single file's bar names it.
    bar = _progress(Path(args.files[0]).name if n == 1 else "classify", args.quiet)
    try:
        for i, path in enumerate(args.files):
            def step(fraction: float, rate: str = "", i: int = i) -> None:
                bar.update((i + fraction) / n, rate if n == 1 else f"{i + (fraction >= 1.0)}/{n} files")

            try:
                result = analyzer.analyze(path, progress=step, notice=_notice(bar, path))
            except Exception as exc:  # one unreadable file of many: the others are still named and written
                if args.debug or n == 1:
                    raise
                bar.message(_printable(f"studio-tagger: error: {_naming(path, one_line(exc))}"))
                failed += 1
                rows.append({"file": path, "label": None, "scores": {}, "error": one_line(exc)})
                continue
            scores, label = result.mean_scores(), result.best_label()
            rows.append({"file": path, "label": label, "scores": {k: round(v, 5) for k, v in scores.items()}})
            if not args.quiet and args.json != "-" and args.csv != "-":
                said = f"{label}\t{scores[label]:.3f}" if label is not None else "silent\t"
                bar.message(f"{_printable(path)}\t{said}", stream=sys.stdout)
    finally:
        bar.close()
    if failed == n:  # nothing to write: an empty table would read like a result
        raise CliError(f"none of the {failed} files could be classified (named above)")
    if args.json:
        with _open_output(args.json) as f:
            f.write(json_text(rows, indent=2))
            f.write("\n")
    if args.csv:
        labels = list(analyzer.model.labels)
        with _open_output(args.csv) as f:
            writer = csv.writer(f)
            writer.writerow(["file", "label", *labels, "error"])
            for row in rows:  # a file that failed keeps its row, so a library's table misses none
                writer.writerow([row["file"], row["label"] or "", *(row["scores"].get(k, "") for k in labels),
                                 row.get("error", "")])
    if failed:
        raise CliError(f"{failed} of {n} files could not be classified (named above, and in the outputs' "
                       "error field); the others were classified")
    return 0


def _printable(name: str) -> str:
    """A file name for a line of text: control characters (a tab would split the line into more fields, an
    escape sequence would reach the terminal) written as Python escapes, as `repr` does; CSV and JSON
    outputs quote the name itself."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in name)


def _naming(path: str, error: str) -> str:
    """``error`` starting with the file it is about: most already name it, the others get it in front."""
    return error if error.startswith(path) else f"{path}: {error}"


def _check_hop(model: str | None, hop: float) -> None:
    """A hop longer than the model's window would skip audio: a usage error, said before any work (the
    analyzer would refuse it too, in a batch once per recording)."""
    from .shipped import read_card

    try:
        window = float(read_card(model).get("window_seconds", 2.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return  # loading the model says what is wrong with it
    if hop > window:
        raise UsageError(f"--hop {hop:g} is longer than the model's {window:g} s window")


def region_params_from(args: argparse.Namespace):
    from .analysis import RegionParams

    params = RegionParams()
    if args.threshold is not None:
        params.threshold_on = args.threshold
        params.threshold_off = min(params.threshold_off, args.threshold)
    if args.shadow_margin is not None:
        params.shadow_margin = args.shadow_margin
    for name in ("smoothing", "min_duration", "merge_gap"):  # each already 0..MAX_SECONDS (`_seconds`)
        value = getattr(args, name)
        if value is not None:
            setattr(params, name, value)
    return params


def _decode_ahead(file: str, model: str | None, device: str):
    """Start decoding ``file`` at the rate ``model``'s card names, before torch is imported (a second or
    more, in which most of a WAV hour or ten minutes of a FLAC decode). None where the card cannot be
    read: loading the model then says why."""
    from .audio.prefetch import DecodeAhead
    from .shipped import model_sample_rate

    try:
        rate = model_sample_rate(model)
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if rate <= 0:
        return None
    return DecodeAhead(file, rate, block_seconds=120.0 if device == "cuda" else 30.0)


def cmd_analyze(args: argparse.Namespace) -> int:
    exports = _check_exports(args.export)
    _refuse_overwriting([args.file], [args.json, *(out for _, out in exports)])
    _check_hop(args.model, args.hop)
    params = region_params_from(args)
    ahead = _decode_ahead(args.file, args.model, args.device)
    try:
        from .analysis import Analyzer
        from .outputs import export_result, write_analysis_json

        analyzer = Analyzer(args.model, device=args.device, hop=args.hop)
        if _OWN_PROCESS:
            # torch's few hundred thousand long-lived objects, frozen, are no longer walked by each full
            # collection, which holds the GIL the decoding thread needs (about 3 % of an hour's FLAC
            # here). Only in the command's own process: frozen objects are never collected, which a
            # caller of main() that lives on (tests, scripts) would not want.
            gc.freeze()
        bar = _progress(Path(args.file).name, args.quiet)
        try:
            result = analyzer.analyze(args.file, progress=bar.update, notice=_notice(bar, args.file),
                                      decoded=ahead)
        finally:
            bar.close()
    finally:
        if ahead is not None:
            ahead.close()
    # A file shorter than one window only fills a window with padding: it gets no regions, and the summary
    # says why instead of "0 regions".
    too_short = result.shorter_than_window
    regions = result.regions(params)
    to_check = None
    if args.to_check:
        from .adapt.doubt import spans_to_check

        to_check = [] if too_short else spans_to_check(result.times, result.activity, result.labels, params,
                                                         duration=result.duration, count=args.to_check)
    written = []
    if args.json:
        with _open_output(args.json) as f:
            write_analysis_json(result, regions, f, to_check=to_check)
        written.append(args.json)
    for fmt, out in exports:
        export_result(fmt, regions, Path(out), source_audio=Path(args.file), result=result)
        written.append(f"{out} ({fmt})")
    if not args.quiet and args.json != "-":
        print_summary(args.file, result, regions, written, too_short=too_short, list_regions=args.list_regions)
        if to_check is not None:
            print_to_check(to_check, args.to_check)
    return 0


def print_to_check(spans: Sequence, asked: int) -> None:
    """The spans `analyze --to-check` found, one a line; or why there are fewer than asked."""
    from .timefmt import clock

    print(f"  {counted(len(spans), 'span')} to check, most doubtful first:" if spans else
          "  no span to check: every lane is clearly on or off throughout")
    for s in spans:
        print(_printable(f"  {clock(s.start)} - {clock(s.end)}  {s.label:<26} {s.activity:.2f}"))
    if spans and len(spans) < asked:
        print("  (no other place is doubtful)")


def print_summary(file: str, result: AnalysisResult, regions: Sequence[Region], written: Sequence[str], *,
                  too_short: bool, list_regions: bool) -> None:
    """What `analyze` found, in a few lines: regions per instrument and the files written; with
    ``list_regions`` every region too."""
    from collections import Counter

    from .timefmt import clock

    if too_short:
        print(_printable(f"{file}: {result.duration:.2f} s, {result.short_notice()}"))
    else:
        speed = result.duration / result.elapsed if result.elapsed > 0 else 0.0
        print(_printable(f"{file}: {result.duration:.1f} s analysed on {result.device} ({speed:.0f}x real time), "
                         f"{counted(len(regions), 'region')}"))
        counts = Counter(r.label for r in regions)
        if counts:
            print("  " + ", ".join(f"{label} {counts[label]}" for label in result.labels if label in counts))
    if written:
        print(_printable("  wrote " + ", ".join(written)))
    if list_regions:
        for r in regions:
            print(f"  {clock(r.start)} - {clock(r.end)}  {r.label:<26} {r.score:.2f}")


def _refuse_overwriting(inputs: Sequence[str], outputs: Sequence[str | None],
                        what: str = "the recording being analysed") -> None:
    """An output named like an input would replace the user's recording (or review, or model), and one
    that cannot be written would fail after the work: both refused before any work; ``what`` says what
    the inputs are."""
    from .atomic import AtomicWriteError, check_writable

    named: dict[str, str] = {}
    for out in outputs:
        if not out or out == "-":
            continue
        # Two outputs of one command on one file: the second would silently replace the first.
        key = os.path.normcase(os.path.realpath(out))
        if key in named:
            raise UsageError(f"{out}: named for two outputs ({named[key]} and {out}); give each its own file")
        named[key] = out
        try:
            check_writable(out)
        except AtomicWriteError as exc:
            raise CliError(str(exc)) from exc
        if not Path(out).exists():
            continue
        for source in inputs:
            if Path(source).exists() and os.path.samefile(out, source):
                raise CliError(f"{out}: is {what}; choose another output file")


def _check_exports(specs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if not specs:
        return []
    from .interchange import FORMATS

    for fmt, _ in specs:
        if fmt not in FORMATS:
            raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return list(specs)


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import BatchOptions, parse_include, run_batch

    asked = (f.strip().lower() for spec in args.export for f in spec.split(","))
    exports = tuple(dict.fromkeys(f for f in asked if f))
    if any("=" in f for f in exports):
        raise UsageError("batch exports take a FORMAT only (files are named after each recording)")
    _check_exports([(f, "") for f in exports])
    # Absolute: Dask workers write the results from their own working folder.
    out = Path(os.path.abspath(args.out))
    if not any(os.path.lexists(root) for root in args.roots):
        # A mistyped root would otherwise rewrite an existing results folder's summary with nothing in it.
        raise CliError(f"{', '.join(args.roots)}: no such file or folder; nothing was tagged or written")
    if out.exists() and not out.is_dir():
        raise CliError(f"{out}: is a file; --out names the folder the results go to")
    for root in args.roots:
        if out.exists() and Path(root).exists() and os.path.samefile(out, root):
            raise CliError(f"{out}: is a folder of the archive; choose a separate results folder")
    _check_hop(args.model, args.hop)
    if args.threads and args.scheduler:
        raise UsageError("--threads sets local workers' threads; a Dask worker's come from its --nthreads")
    options = BatchOptions(roots=args.roots, out=out, model=args.model, device=args.device, workers=args.workers,
                           threads=args.threads, scheduler=args.scheduler, exports=exports,
                           include=parse_include(args.include),
                           hop=args.hop, params=region_params_from(args), retry_failed=args.retry_failed)
    bar = _progress("batch", args.quiet)

    def arrived(record: dict, tally) -> None:
        if record["status"] == "failed" and not args.quiet:
            bar.message(_printable(f"studio-tagger: failed: {_naming(record['path'], record['error'])}"))
        bar.update(tally.fraction, tally.describe())

    try:
        report = run_batch(options, on_record=arrived)
    except KeyboardInterrupt:
        bar.message(f"studio-tagger: {out}: stopped; the same command goes on where this run stopped")
        raise
    finally:
        bar.close()
    if not args.quiet:
        _print_batch_report(report, out)
    if not report.records and not report.problems and report.unmatched:
        patterns = ", ".join(parse_include(args.include))
        raise CliError(f"no recordings: {counted(report.unmatched, 'file')} under the roots matched none of "
                       f"--include {patterns} (patterns match whole names, as in '*.wav')")
    failed, unreadable = len(report.failed), len(report.problems)
    if failed or unreadable:
        raise CliError(f"{failed} of {len(report.records)} recordings failed and {unreadable} entries were "
                       f"unreadable (listed in {report.summary[0]}; --retry-failed tries the failures again)")
    return 0


def _print_batch_report(report, out: Path) -> None:
    """The final summary: counts on stdout, each unreadable entry on stderr."""
    tally = report.tally
    for path, reason in report.problems:
        print(_printable(f"studio-tagger: unreadable: {path}: {reason}"), file=sys.stderr)
    passed = f", {counted(report.unmatched, 'other file')} passed over" if report.unmatched else ""
    if report.mac_metadata:
        passed += f", {counted(report.mac_metadata, 'Mac metadata file')} (._NAME) passed over"
    print(_printable(f"{out}: {counted(len(report.records), 'recording')} ({tally.files} tagged now, "
                     f"{report.skipped} already done), {len(report.failed)} failed, "
                     f"{len(report.problems)} unreadable{passed}"))
    if tally.files:
        # a sample library is minutes of audio, an archive hours: "0.00 h ... (0x real time)" said nothing
        audio = tally.audio_seconds
        amount = f"{audio / 3600:.2f} h" if audio >= 3600 else f"{audio / 60:.1f} min" if audio >= 60 else f"{audio:.1f} s"
        speed = f"{tally.speed:.0f}" if tally.speed >= 10 else f"{tally.speed:.1f}"
        print(f"tagged {amount} of audio in {report.wall:.1f} s ({speed}x real time) on {report.backend}")
    print(_printable(f"summary: {', '.join(str(p) for p in report.summary)}"))


def cmd_export(args: argparse.Namespace) -> int:
    from .interchange import ExportOptions
    from .outputs import export_result

    _check_exports([(args.format.strip().lower(), args.out)])
    regions, source_audio, result, vocabulary = _load_regions_source(Path(args.source))
    # The session or analysis read here holds the editor's work: an export onto it would replace it (the
    # export itself refuses to replace the recording).
    _refuse_overwriting([args.source], [args.out], "the session or analysis being exported")
    labels = _chosen_labels(args.labels, vocabulary) if args.labels else None
    options = ExportOptions(labels=labels, min_score=args.min_score, name_template=args.name,
                            merge_gap=max(0.0, args.merge_gap))
    export_result(args.format.strip().lower(), regions, Path(args.out), source_audio, result, options)
    return 0


def _chosen_labels(text: str, vocabulary: Sequence[str]) -> set[str]:
    """The instruments named in ``--labels`` (any case), as the analysis spells them; a name that is not
    one of them would silently export nothing, so it is a usage error that lists the valid names."""
    by_folded = {name.strip().casefold(): name for name in vocabulary}
    chosen = set()
    parts = text.split(",")
    i = 0
    while i < len(parts):
        # A lane taught from examples may be named with a comma ("strings, low"): the longest run of
        # parts that names a lane is that lane, so such a name needs no quoting.
        for j in range(len(parts), i, -1):
            name = ",".join(parts[i:j]).strip()
            if name.casefold() in by_folded:
                chosen.add(by_folded[name.casefold()])
                i = j
                break
        else:
            name = parts[i].strip()
            if name:
                raise UsageError(f"unknown instrument {name!r} in --labels; choose from {', '.join(vocabulary)}")
            i += 1
    if not chosen:
        raise UsageError(f"--labels names no instrument; choose from {', '.join(vocabulary)}")
    return chosen


def _load_regions_source(path: Path):
    """Regions, the recording they belong to, the activity (when stored) and the instrument names, from an
    analysis JSON, a JSON regions export or a saved session."""
    import numpy as np

    from .analysis import AnalysisResult
    from .interchange.errors import MarkerFileError
    from .interchange.tables import load_json_document, recording_path, regions_from_document
    from .labels import LABELS

    try:
        data = load_json_document(path, "a studio-tagger analysis or session")
    except MarkerFileError as exc:
        raise CliError(str(exc)) from exc
    if not isinstance(data, dict) or "regions" not in data:
        raise CliError(f"{path}: not a studio-tagger analysis or session (no 'regions')")
    regions = regions_from_document(path, data)  # the same checks as a JSON marker import
    source = recording_path(path, data)
    result = None
    if "activity" in data and "times" in data:
        try:
            result = AnalysisResult(
                file=str(source), duration=float(data.get("duration", 0.0)),
                sample_rate=int(data.get("sample_rate", 0)), model=str(data.get("model", "")),
                labels=tuple(str(x) for x in data.get("labels", [])), hop=float(data.get("hop", 0.5)),
                window=float(data.get("window", 2.0)), times=np.asarray(data["times"], dtype=np.float64),
                activity=np.asarray(data["activity"], dtype=np.float32),
            )
        except (TypeError, ValueError) as exc:
            raise CliError(f"{path}: its activity matrix is malformed ({exc})") from exc
    named = data.get("labels")
    if not (isinstance(named, list) and named and all(isinstance(x, str) for x in named)):
        named = list(LABELS)
    vocabulary = list(dict.fromkeys([*named, *(r.label for r in regions)]))
    return regions, (Path(str(source)) if source else None), result, vocabulary


def cmd_adapt(args: argparse.Namespace) -> int:
    from .adapt import (
        AdaptError,
        adapt_model,
        embed_reviews,
        lane_from_examples,
        read_review,
        remove_lanes,
        save_adapted,
    )
    from .adapt.lanes import FEW_EXAMPLES, FEW_EXAMPLES_HINT
    from .analysis import Analyzer
    from .analysis.regions import lane_name
    from .models import load_model
    from .shipped import model_files, model_paths

    if not args.reviews and not args.remove_lane:
        raise UsageError("adapt needs at least one REVIEW (or --remove-lane NAME)")
    if args.new_lane is not None and not args.new_lane.strip():
        # Otherwise an empty name (a shell variable that was never set) adapts every lane instead.
        raise UsageError("--new-lane needs a name")
    if args.new_lane and not args.reviews:
        raise UsageError("--new-lane needs the REVIEWs that mark its examples")
    # A review named twice (a shell glob and a name) would count its corrections twice.
    unique: dict[str, str] = {}
    for review in args.reviews:
        unique.setdefault(os.path.realpath(review), review)
    args.reviews = list(unique.values())
    try:
        reviews = [read_review(p, require_edits=not args.new_lane) for p in args.reviews]
    except AdaptError as exc:
        raise CliError(str(exc)) from exc
    if not Path(args.out).name or args.out.endswith(("/", os.sep)) or Path(args.out).is_dir():
        raise UsageError(f"--out {args.out!r} names no file: give the adapted model's name "
                         f"(e.g. {Path(args.out) / 'my-hall' if Path(args.out).name else 'my-hall'})")
    weights_out, card_out = model_paths(Path(args.out))  # "take.wav" would be take.wav.safetensors, not take.safetensors
    # The base as the files it is ("--base hall" is hall.safetensors and hall.json), not the name as typed.
    base_files = [str(p) for p in model_files(args.base)] if args.base else []
    inputs = [*args.reviews, *(str(r.source) for r in reviews), *base_files]
    _refuse_overwriting(inputs, [str(weights_out), str(card_out)],
                        "one of this command's inputs (a review, its recording or the base model)")
    _refuse_replacing_other_json(card_out)
    try:
        if reviews:
            analyzer = Analyzer(args.base, device=args.device, embeddings=True)
            bar = _progress("analysing", args.quiet)
            try:
                items = embed_reviews(analyzer, reviews, progress=bar.update)
            finally:
                bar.close()
            if args.new_lane:
                lane = lane_name(args.new_lane).casefold()  # "Oboe" marks what --new-lane oboe teaches
                examples = [[(r.start, r.end) for r in it.review.regions if lane_name(r.label).casefold() == lane]
                            for it in items]
                adapted = lane_from_examples(analyzer.model, items, args.new_lane, examples, name=args.name)
            else:
                adapted = adapt_model(analyzer.model, items, name=args.name)
            summary = adapted.summary
        else:
            adapted, summary = None, ""
        if args.remove_lane:
            base = adapted.model if adapted is not None else load_model(args.base)
            trimmed = remove_lanes(base, args.remove_lane, name=args.name)
            summary = "; ".join(x for x in (summary, trimmed.summary) if x)
            new = tuple(x for x in (adapted.new_labels if adapted else ()) if x in trimmed.model.labels)
            adapted = replace(trimmed, new_labels=new, summary=summary)
    except AdaptError as exc:
        raise CliError(str(exc)) from exc
    weights, card = save_adapted(adapted, weights_out)
    if not args.quiet:
        print(adapted.summary)
        if adapted.new_labels:
            print(f"new lanes: {', '.join(adapted.new_labels)}")
            few = [label for label in adapted.new_labels if sum(
                lane_name(r.label).casefold() == label.casefold() for rv in reviews for r in rv.regions) < FEW_EXAMPLES]
            if few:
                print(f"{', '.join(few)}: {FEW_EXAMPLES_HINT}")
        print(f"wrote {weights} and {card}")
    return 0


def _refuse_replacing_other_json(card: Path) -> None:
    """The card is written beside the weights under the same name: ``--out take.safetensors`` would
    replace a ``take.json`` lying there (an analysis, a review) that is not a model card."""
    from .models.checkpoint import CARD_FORMAT
    from .shipped import read_card

    if not card.exists():
        return
    try:
        ours = read_card(card).get("format") == CARD_FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise CliError(f"{card}: the model's card would replace this file, which is not a model card; "
                       "choose another --out name")


def cmd_app(args: argparse.Namespace) -> int:
    try:
        from .app.main import run_app
    except ImportError as exc:
        raise CliError(f"the desktop app is not available ({exc})") from exc
    return run_app(args.files)


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from .desktop import install_desktop, uninstall_desktop

    if args.uninstall:
        for path in uninstall_desktop(args.data_home):
            print(f"removed {path}")
        return 0
    for path in install_desktop(args.data_home):
        print(f"wrote {path}")
    return 0


COMMANDS = {"classify": cmd_classify, "analyze": cmd_analyze, "batch": cmd_batch, "export": cmd_export,
            "adapt": cmd_adapt, "install-desktop": cmd_install_desktop, "app": cmd_app}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `studio-tagger` alone or `studio-tagger FILE...` opens the app.
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        argv = ["app", *argv]
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Terminated:
        print("studio-tagger: terminated", file=sys.stderr)
        return 143  # 128 + SIGTERM, what a shell reports for a tool killed by the signal
    except KeyboardInterrupt:
        print("studio-tagger: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`studio-tagger analyze FILE | head`): stop quietly, as other tools do. Python
        # would report the pipe again while flushing stdout at exit, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal
    except UsageError as exc:
        print(f"studio-tagger: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # every failure becomes one line; --debug shows where
        if getattr(args, "debug", False):
            raise
        print(f"studio-tagger: error: {one_line(exc)}", file=sys.stderr)
        return 1


QUICK_EXIT = frozenset({"classify", "analyze", "export", "adapt"})
"""Commands that leave no thread, server or window behind when they return."""


def run() -> None:
    """The `studio-tagger` command: `main`, then, after a command in QUICK_EXIT, out without Python's
    teardown of the interpreter. With torch loaded that teardown takes about half a second here, 8 % of
    `analyze` on an hour of FLAC; everything the command wrote is closed by then, and stdout and stderr
    are flushed first."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as its bytes, as ls does
        if (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8":  # else keep its own
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="surrogateescape")
    argv = sys.argv[1:]
    if argv and argv[0] in (*QUICK_EXIT, "batch"):
        # batch too: it then writes its summary and ends its workers as on Ctrl+C (they are spawned, not
        # forked, so they do not inherit this handler). Not the app, whose window Qt closes.
        signal.signal(signal.SIGTERM, _terminate)
    code = main(argv)
    if not argv or argv[0] not in QUICK_EXIT:
        sys.exit(code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left after the last write: as main() answers a broken pipe
        code = 141
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
