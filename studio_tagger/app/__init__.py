"""The desktop app (PySide6 + pyqtgraph): windows, views, workers, playback.

Modules without Qt here (``activity``, ``spectrogram``) hold data the views draw; everything that
touches widgets runs on the GUI thread, and background work reports back through signals
(``workers``).
"""
