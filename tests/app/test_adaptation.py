"""Analysis > Adapt to My Corrections: the lanes follow the corrections, a new name becomes a lane, and
undo and the way back to the shipped model each take one action."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt

from studio_tagger.adapt.adapter import base_head
from studio_tagger.adapt.embedded import CACHE_EMBEDDINGS
from studio_tagger.analysis.regions import RegionParams
from studio_tagger.app.settings_dialog import SettingsValues
from studio_tagger.models import load_model
from studio_tagger.session import load_session

NOTHING = RegionParams(threshold_on=1.01, threshold_off=1.01)  # no detected regions: only the user's
# conftest.write_take's phrases: 220, 330, 440, 587 and 220 Hz
TONES = [(2.0, 6.0), (9.0, 13.0), (16.0, 20.0), (23.0, 27.0), (30.0, 34.0)]
FLUTE = [TONES[0], TONES[4]]  # the same tone twice
OBOE = [TONES[1], TONES[2]]


def _lane_mean(doc, label, spans):
    times, activity = doc.activity.times, doc.activity.activity
    j = doc.activity.labels.index(label)
    inside = sum(((times > s + 0.5) & (times < e - 0.5)) for s, e in spans).astype(bool)
    return float(activity[inside, j].mean())


def test_adapting_to_corrections_recomputes_the_lanes_with_undo_and_back_to_shipped(qtbot, analysed, tmp_path):
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.set_region_params(NOTHING)
    w.adapt_action.trigger()  # no corrections yet: a message, nothing runs
    assert "no corrections" in w.last_error and not w.adaptation.running
    original_labels, original_model = w.doc.activity.labels, w.settings.model_path
    w.error_box.close()
    for span in FLUTE:
        w.doc.set_time_selection(span, "flute")
        qtbot.keyClick(w, Qt.Key.Key_A)
    assert [r.label for r in w.doc.regions] == ["flute", "flute"]
    for span in OBOE:  # a name the model does not know: a new lane from two examples
        w.doc.add_region("oboe", *span)
    flute_before = _lane_mean(w.doc, "flute", FLUTE)
    with qtbot.waitSignal(w.adaptationFinished, timeout=240_000) as done:
        w.adapt_action.trigger()
    assert "corrected seconds" in done.args[0] and "new lanes: oboe" in done.args[0]
    assert w.doc.activity.labels == (*original_labels, "oboe")
    assert _lane_mean(w.doc, "flute", FLUTE) > max(flute_before, _lane_mean(w.doc, "flute", OBOE))
    assert _lane_mean(w.doc, "oboe", OBOE) > max(_lane_mean(w.doc, "oboe", FLUTE), 0.5)
    adapted = load_model(w.settings.model_path)  # the adapted model is a model file like any other
    assert adapted.labels[-1] == "oboe" and w.settings.model_path.startswith(str(tmp_path / "models"))
    assert w.undo_adapt_action.isEnabled() and w.shipped_model_action.isEnabled()
    # The lanes the editor left as they were shown (no region there before or after) keep their rows exactly.
    (w_old, b_old), (w_new, b_new) = base_head(load_model(original_model or None)), base_head(adapted)
    untouched = [j for j, label in enumerate(original_labels) if label != "flute"]
    np.testing.assert_allclose(w_new[untouched, :w_old.shape[1]], w_old[untouched], atol=1e-5)
    assert not np.any(w_new[untouched, w_old.shape[1]:])
    np.testing.assert_allclose(b_new[untouched], b_old[untouched], atol=1e-5)

    session = tmp_path / "take.stsession"  # the session keeps the embeddings: adapting it reads no audio
    assert w.files.save_session(path=session)
    assert load_session(session).cache[CACHE_EMBEDDINGS].shape[1] == adapted.module.head.in_channels

    w.undo_adapt_action.trigger()
    assert w.doc.activity.labels == original_labels and w.settings.model_path == original_model

    with qtbot.waitSignal(w.adaptationFinished, timeout=240_000):
        w.adapt_action.trigger()  # the embeddings are kept: no second analysis needed
    with qtbot.waitSignal(w.analysisFinished, timeout=240_000):
        w.shipped_model_action.trigger()  # the test model is not the shipped network: it analyses again
    assert w.settings.model_path == "" and w.doc.activity.model == load_model(None).name
    assert not w.shipped_model_action.isEnabled()


def test_a_new_lane_from_examples_is_taught_in_the_dialog_and_removed_again(qtbot, analysed, tmp_path):
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.set_region_params(NOTHING)
    original_labels = w.doc.activity.labels
    # The analysis kept its window embeddings: a session saved now can adapt without a new analysis.
    session = tmp_path / "fresh.stsession"
    assert w.files.save_session(path=session)
    assert load_session(session).cache[CACHE_EMBEDDINGS].shape[0] > 0

    dialog = w.new_lane_dialog()
    assert not dialog.teach_button.isEnabled() and "Name" in dialog.problem()
    dialog.name.setText("Flute")
    assert "already a lane" in dialog.problem() and not dialog.teach_button.isEnabled()
    dialog.name.setText("oboe")
    assert not dialog.add_button.isEnabled()  # nothing selected yet
    for span in OBOE:
        w.doc.set_time_selection(span)
        assert dialog.add_button.isEnabled()
        dialog.add_button.click()
        assert "three to five" in dialog.hint.text()  # one or two examples: it asks for more
    assert dialog.spans() == OBOE and dialog.teach_button.isEnabled() and w.doc.time_selection is None
    with qtbot.waitSignal(w.adaptationFinished, timeout=60_000) as done:
        dialog.teach_button.click()
    assert "new lanes: oboe" in done.args[0]
    assert w.doc.activity.labels == (*original_labels, "oboe")
    assert _lane_mean(w.doc, "oboe", OBOE) > max(_lane_mean(w.doc, "oboe", FLUTE), 0.5)
    assert load_model(w.settings.model_path).labels[-1] == "oboe"

    w.doc.select_label("flute")
    assert not w.remove_lane_action.isEnabled()  # a lane of the shipped vocabulary stays
    w.doc.select_label("oboe")
    assert w.remove_lane_action.isEnabled()
    scores = w.doc.activity.activity[:, : len(original_labels)].copy()
    w.remove_lane_action.trigger()
    assert w.doc.activity.labels == original_labels
    assert (w.doc.activity.activity == scores).all()  # the other lanes as they were
    assert load_model(w.settings.model_path).labels == original_labels
    w.undo_adapt_action.trigger()  # the lane comes back
    assert w.doc.activity.labels == (*original_labels, "oboe")

    w.adaptation.new_lane("cello", [(1.0, 1.5)])  # shorter than one analysis window: refused at once
    assert "shorter than one analysis window" in w.last_error and not w.adaptation.running

    dialog = w.new_lane_dialog()
    assert dialog.isVisible()
    w.files.close_document()  # the dialog's examples belong to the take that went: it goes too
    assert not dialog.isVisible() and w.lane_dialog is None


def test_adapting_with_a_model_without_embeddings_says_what_to_do(qtbot, analysed, tmp_path, monkeypatch):
    import studio_tagger.app.adaptation as adaptation

    def no_embeddings(*args, **kwargs):
        raise ValueError("model ast-reproduction gives no frame embeddings (an ActivityCNN does)")

    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.doc.add_region("flute", *FLUTE[0])
    monkeypatch.setattr(adaptation.analysis, "Analyzer", no_embeddings)
    w.adapt_action.trigger()
    qtbot.waitUntil(lambda: "choose an ActivityCNN model in Settings" in w.last_error, timeout=30_000)
    assert "gives no frame embeddings" in w.last_error and not w.adaptation.running
    assert not (tmp_path / "models").exists()


def test_cancelling_an_adaptation_keeps_the_model_and_lanes(qtbot, analysed, tmp_path):
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.doc.add_region("oboe", *OBOE[0])
    model_before, labels_before = w.settings.model_path, w.doc.activity.labels
    finished = []
    w.adaptationFinished.connect(lambda text: finished.append(text))
    w.adapt_action.trigger()
    assert w.adaptation.running and w.cancel_action.isEnabled()
    w.cancel_action.trigger()  # Ctrl+. stops an adaptation as it stops an analysis
    assert not w.adaptation.running
    qtbot.wait(1500)  # a job that ended meanwhile delivers nothing: its result is stale
    assert finished == [] and w.settings.model_path == model_before and w.doc.activity.labels == labels_before
    assert w.adapt_action.isEnabled()


def test_back_to_the_shipped_model_returns_to_the_one_adapting_started_from(qtbot, analysed, tmp_path):
    """An editor who chose "accurate" and adapted it gets "accurate" back, not the default; on a shipped
    model the action has nothing to go back from."""
    from studio_tagger.adapt import remove_lanes, save_adapted

    w = analysed
    for shipped in ("accurate", ""):
        w.settings.model_path = shipped
        w._update_actions()
        assert not w.shipped_model_action.isEnabled()
    adapted = tmp_path / "mine.safetensors"
    save_adapted(remove_lanes(load_model("accurate"), ["violin"]), adapted)
    w.settings.model_path = str(adapted)
    w._update_actions()
    assert w.shipped_model_action.isEnabled()
    with qtbot.waitSignal(w.analysisFinished, timeout=240_000):
        w.shipped_model_action.trigger()  # no embeddings of the accurate networks kept yet: it analyses
    assert w.settings.model_path == "accurate" and w.doc.activity.model == load_model("accurate").name
    assert not w.shipped_model_action.isEnabled()


def test_a_session_reopens_with_the_model_it_was_saved_with(qtbot, analysed, tmp_path):
    """A lane taught from examples belongs to the adapted model: reopened where Settings name another
    model, the session brings its own back, so Remove Lane, adapting again and Ctrl+R start from it."""
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.set_region_params(NOTHING)
    original_model = w.settings.model_path
    with qtbot.waitSignal(w.adaptationFinished, timeout=60_000):
        w.adaptation.new_lane("oboe", OBOE)
    adapted = w.settings.model_path
    session = tmp_path / "take.stsession"
    assert w.files.save_session(path=session)
    w.files.close_document()
    w.settings.model_path = original_model  # Settings moved on meanwhile
    assert w.files.open_path(session)
    assert w.settings.model_path == adapted and "oboe" in w.doc.activity.labels
    w.doc.select_label("oboe")
    assert w.remove_lane_action.isEnabled() and w.shipped_model_action.isEnabled()
    with qtbot.waitSignal(w.analysisFinished, timeout=240_000):
        w.rerun_action.trigger()  # analysed again with the session's model: the lane stays
    assert "oboe" in w.doc.activity.labels
    # Its model deleted, the session still opens as saved, Settings stay, and the editor is told.
    w.files.close_document()
    w.settings.model_path = original_model
    for path in (adapted, adapted.replace(".safetensors", ".json")):
        os.remove(path)
    assert w.files.open_path(session)
    assert w.settings.model_path == original_model and "oboe" in w.doc.activity.labels
    assert "is missing" in w.last_error


def test_undo_during_an_adaptation_cancels_it_first(qtbot, analysed, tmp_path):
    """Finishing after the editor pressed Undo (or chose another model), the job would put its model back
    and bury the undo step that returns to where the editor started."""
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.set_region_params(NOTHING)
    start_model, start_labels = w.settings.model_path, w.doc.activity.labels
    with qtbot.waitSignal(w.adaptationFinished, timeout=60_000):
        w.adaptation.new_lane("oboe", OBOE)
    first = w.settings.model_path
    w.doc.add_region("flute", *FLUTE[0])
    w.adapt_action.trigger()
    assert w.adaptation.running and not w.undo_adapt_action.isEnabled() and not w.shipped_model_action.isEnabled()
    w.adaptation.undo()  # as the shortcut would, while it runs
    assert not w.adaptation.running and w.settings.model_path == start_model
    qtbot.wait(1500)  # a result arriving now is stale
    assert w.settings.model_path == start_model and w.doc.activity.labels == start_labels
    assert w.adaptation.history == [] and first != start_model

    w.adapt_action.trigger()
    assert w.adaptation.running
    values = SettingsValues("accurate", w.settings.device, w.settings.hop, {}, w.settings.colours(w.doc.labels))
    with qtbot.waitSignal(w.analysisFinished, timeout=240_000):
        w.apply_settings(values)  # another model chosen while it runs
        assert not w.adaptation.running
    qtbot.wait(500)
    assert w.settings.model_path == "accurate" and w.doc.activity.model == load_model("accurate").name


def test_a_new_lane_named_like_the_editors_own_lane_in_another_case_is_that_lane(qtbot, analysed, tmp_path):
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    w.set_region_params(NOTHING)
    for span in OBOE:  # as imported markers would draw them
        w.doc.add_region("Oboe", *span)
    with qtbot.waitSignal(w.adaptationFinished, timeout=60_000):
        w.adaptation.new_lane(" oboe ", OBOE)
    assert [x for x in w.doc.labels if x.casefold() == "oboe"] == ["Oboe"]


def test_the_dialog_says_an_example_is_too_short_before_teach(qtbot, analysed):
    w = analysed
    dialog = w.new_lane_dialog()
    dialog.name.setText("cello")
    dialog.add_span(20.0, 21.0)
    assert "shorter than one analysis window (2 s)" in dialog.problem() and not dialog.teach_button.isEnabled()
    dialog.add_span(2.0, 6.0)
    dialog.examples.setCurrentRow(0)
    dialog.remove_current()
    assert dialog.problem() == "" and dialog.teach_button.isEnabled()


def test_next_span_to_check_walks_the_doubtful_places_and_adapting_learns_there(qtbot, analysed, tmp_path):
    w = analysed
    w.adaptation.out_dir = tmp_path / "models"
    doc = w.doc
    assert w.check_next_action.isEnabled()
    # Every lane sure it is off, but the violin just under its threshold at 16-20 s.
    model = doc.activity
    model.activity[:] = 0.02
    model.activity[(model.times > 16) & (model.times < 20), model.labels.index("violin")] = 0.38
    doc.recompute_regions()
    assert doc.regions == []
    first = w.navigation.next_span_to_check()
    assert first is not None and first.label == "violin" and first.start <= 16 and first.end >= 20
    assert doc.time_selection == (first.start, first.end) and doc.selection_label == "violin"
    assert doc.playhead == first.start and doc.checked == []  # shown, not yet checked
    assert "Check" in w.statusBar().currentMessage()
    qtbot.keyClick(w, Qt.Key.Key_A)  # the editor hears a violin there: a region over the span
    qtbot.keyClick(w, Qt.Key.Key_C)  # done with it: counted as checked, the next one comes
    second = (doc.time_selection, doc.selection_label)
    assert doc.checked == [(first.start, first.end)] and second[0] != (first.start, first.end)
    assert len(w.timeline.checked_items) == 1 and not doc.undo.isClean()
    doc.undo.undo()  # the check is a step of its own
    assert doc.checked == [] and len(w.timeline.checked_items) == 0
    doc.undo.redo()
    assert doc.checked == [(first.start, first.end)]

    session = tmp_path / "checked.stsession"
    assert w.files.save_session(path=session)
    assert load_session(session).checked == [(first.start, first.end)]
    with qtbot.waitSignal(w.adaptationFinished, timeout=240_000) as done:
        w.adapt_action.trigger()
    # Adapted on the span checked (and the region added there), not on the whole take.
    assert f"adapted on {first.end - first.start:.0f} corrected seconds" in done.args[0]
