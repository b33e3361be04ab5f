"""The region list sorts and filters in its own model: by raw values, ties in time order, fast enough
that an edit among thousands of imported markers does not hold the window."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio_tagger.analysis.regions import Region
from studio_tagger.app.region_list import RegionList


def test_sorting_and_filtering_follow_the_raw_values(qapp):
    regions = [Region("violin", 599.0, 601.0, 0.9), Region("flute", 600.0, 605.0, 0.4),
               Region("Oboe", 10.0, 12.0, 0.9), Region("flute", 5.0, 6.0, 0.7)]
    rl = RegionList()
    rl.set_regions(regions, {})
    assert [r.start for r in rl.row_regions()] == [5.0, 10.0, 599.0, 600.0]  # by start (0:09:59 before 0:10:00)
    rl.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    # Equal scores keep time order whichever way the column is sorted.
    assert [(r.score, r.start) for r in rl.row_regions()] == [(0.9, 10.0), (0.9, 599.0), (0.7, 5.0), (0.4, 600.0)]
    rl.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [r.label for r in rl.row_regions()] == ["flute", "flute", "Oboe", "violin"]  # case does not count
    rl.set_labels(("flute", "violin", "Oboe"))
    rl.filter.setCurrentText("flute")
    assert [r.start for r in rl.row_regions()] == [5.0, 600.0]
    rl.set_regions([*regions, Region("flute", 1.0, 2.0)], {})  # an edit keeps the filter and the order
    assert [r.start for r in rl.row_regions()] == [1.0, 5.0, 600.0]
    rl.show_region(regions[1])
    assert rl.table.selectionModel().selectedRows()[0].row() == 2
    rl.show_region(regions[0])  # filtered out: nothing selected
    assert rl.table.selectionModel().selectedRows() == []
