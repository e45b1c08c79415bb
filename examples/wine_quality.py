"""The main raymlx job on real data: wine quality (red + white) as regression.

Runs what `make demo` promises: an 80/20 split, AutoML with 10 models on a local Ray
(started automatically), the leaderboard on the test part with rmse, mse, mae and rmsle,
permutation importance with a plot, save, load from disk, and a prediction for one row.

Data: UCI Wine Quality (Cortez et al. 2009), CC BY 4.0; see examples/data/README.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from raymlx import AutoML

HERE = Path(__file__).resolve().parent
OUT = Path("out")


def load_wine() -> pd.DataFrame:
    red = pd.read_csv(HERE / "data" / "winequality-red.csv", sep=";").assign(type="red")
    white = pd.read_csv(HERE / "data" / "winequality-white.csv", sep=";").assign(type="white")
    return pd.concat([red, white], ignore_index=True)


def main() -> int:
    wine = load_wine()
    train = wine.sample(frac=0.8, random_state=42)
    test = wine.drop(train.index)
    print(f"wine quality: {len(train)} training rows, {len(test)} test rows")

    t0 = time.time()
    aml = AutoML(label="quality", problem_type="regression", metric="rmse", max_models=10,
                 time_limit=240, seed=0, path=OUT / "runs")
    aml.fit(train)
    print(f"\nfit took {time.time() - t0:.1f} s (Ray start-up included)\n")

    board = aml.leaderboard(test, extra_metrics=["mse", "mae", "rmsle"])
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(board.drop(columns=["config"]).dropna(axis=1, how="all").round(4)
              .to_string(index=False))

    why = aml.explain(test, kinds=["importance", "shap", "pdp", "residuals"],
                      plot_dir=OUT / "wine_explained")
    print("\npermutation importance (drop in rmse when a column is shuffled):")
    print(why["importance"].round(4).to_string(index=False))
    print(f"plots: {', '.join(str(p) for p in why.plots.values())}")

    folder = aml.save(OUT / "wine_predictor")
    loaded = AutoML.load(folder)
    row = test.drop(columns=["quality"]).head(1)
    print(f"\nsaved to {folder}; loaded back: {loaded}")
    print(f"one row -> predicted quality {loaded.predict(row).iloc[0]:.2f} "
          f"(true {test['quality'].iloc[0]})")
    same = (loaded.predict(test) - aml.predict(test)).abs().max()
    print(f"loaded predictor matches the fitted one: max difference {same:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
