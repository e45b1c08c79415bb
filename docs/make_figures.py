"""Draws the figures of the explanations guide into ``docs/img/`` from the predictor that
ships in ``tests/data/predictor_v1`` (no Ray, no fit): ``python docs/make_figures.py``.
The PNGs are committed; rerun this after changing the plots."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from raymlx import AutoML  # noqa: E402
from tests.conftest import make_binary_frame  # noqa: E402

OUT = ROOT / "docs" / "img"


def main() -> int:
    aml = AutoML.load(ROOT / "tests" / "data" / "predictor_v1")
    rows = make_binary_frame(150, 4)
    made = aml.explain(rows, kinds=["importance", "ice", "confusion"], plot_dir=OUT,
                       n_repeats=5)
    shap = aml.explain(rows, kinds=["shap"], model="lightgbm_1", plot_dir=OUT)
    row = aml.explain_row(rows.drop(columns="target").iloc[3], model="lightgbm_1", data=rows,
                          plot=OUT / "explain_row.png")
    for path in [*made.plots.values(), *shap.plots.values(), row.plot]:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
