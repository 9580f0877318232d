"""Regenerate the README's pictures: ``.venv/bin/python docs/images/make_images.py``.

graph.png is one neuron, y = tanh(w1*x1 + w2*x2 + b), after ``y.backward()``,
drawn by ``bpkit.plot.draw_graph``: every node shows its op, value and gradient.
jupyterlab.png is a screenshot that ``make test-browser`` saves as
test-artifacts/browser-02-after-next.png (copy it here after a visible change).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from bpkit import Value  # noqa: E402
from bpkit.plot import draw_graph  # noqa: E402

HERE = Path(__file__).parent


def neuron_graph(path):
    x1, x2 = Value(2.0, label="x1"), Value(-1.0, label="x2")
    w1, w2 = Value(-0.5, label="w1"), Value(1.5, label="w2")
    b = Value(0.8, label="b")
    y = (x1 * w1 + x2 * w2 + b).tanh()
    y.label = "y"
    y.backward()
    ax = draw_graph(y, title="y = tanh(w1·x1 + w2·x2 + b), after y.backward()")
    ax.figure.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    neuron_graph(HERE / "graph.png")
