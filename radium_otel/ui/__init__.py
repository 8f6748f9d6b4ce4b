"""The sessions' face: ``rad ui`` (a read-only local web app) and ``rad report --html``.

Imported only by those two commands (``rad stats`` never pays for it); standard library
only, with the chart library (uPlot, MIT) shipped in ``static/vendor/``.
"""
