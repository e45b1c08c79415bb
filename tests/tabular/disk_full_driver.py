"""Run by test_disk_full.py inside a private mount namespace with a small tmpfs at argv[1]:
saves, ledger lines and the fit state written to a full disk. Prints one JSON object."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from raymlx import AutoML, DiskFullError
from raymlx._internal.disk_writes import append_line
from raymlx.tabular.engine.ledger import STATE_FILE, load_fit_state, save_fit_state

DATA = Path(__file__).resolve().parents[1] / "data"


def fill(folder: Path) -> Path:
    """Writes one file until the disk is full; returns it."""
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 16))
                fh.flush()
        except OSError:
            pass
    return filler


def main(mount: Path) -> None:
    out: dict = {}
    rows = pd.read_csv(DATA / "predictor_v1_rows.csv")
    aml = AutoML.load(DATA / "predictor_v1")
    expected = aml.predict_proba(rows).to_numpy()
    folder = aml.save(mount / "pred")
    ledger = mount / "trials.jsonl"
    append_line(ledger, json.dumps({"n": 1}), "the trial ledger")
    save_fit_state(mount / "fit", {"state": 1})
    filler = fill(mount)
    for what, call in [("save", lambda: aml.save(folder)),
                       ("ledger", lambda: append_line(ledger, "x" * 20000, "the trial ledger")),
                       ("fit_state", lambda: save_fit_state(mount / "fit", {"big": "y" * 200000}))]:
        try:
            call()
            out[what] = "no error"
        except DiskFullError as err:
            out[what] = str(err)
        except Exception as err:  # noqa: BLE001 - reported for the test to show
            out[what] = f"{type(err).__name__}: {err}"
    out["leftovers"] = sorted(p.name for p in mount.iterdir()
                              if ".tmp-" in p.name or ".old-" in p.name)
    out["fit_leftovers"] = sorted(p.name for p in (mount / "fit").iterdir())
    out["ledger_after"] = ledger.read_text()
    out["fit_state_after"] = load_fit_state(mount / "fit")[0]
    out["intact_predicts_the_same"] = bool(np.array_equal(
        AutoML.load(folder).predict_proba(rows).to_numpy(), expected))
    filler.unlink()
    out["save_after_freeing"] = str(aml.save(folder)) == str(folder)
    append_line(ledger, json.dumps({"n": 2}), "the trial ledger")
    out["ledger_lines_after_freeing"] = [json.loads(x) for x in ledger.read_text().splitlines()]
    out["state_file"] = STATE_FILE
    print(json.dumps(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
