"""Run by test_disk_full.py inside a private mount namespace with an 8 MiB tmpfs at
argv[1]: a fit whose folder fills the disk mid-search, then a resume once space is freed.
Prints one JSON object."""

import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from raymlx import AutoML, DiskFullError  # noqa: E402
from tests.conftest import make_binary_frame  # noqa: E402


def main(mount: Path, room: int) -> None:
    filler = mount / "filler"
    with open(filler, "wb") as fh:  # leave about `room` bytes free
        try:
            while filler.stat().st_size < (8 << 20) - room:
                fh.write(b"\0" * (1 << 16))
                fh.flush()
        except OSError:
            pass
    aml = AutoML(label="target", families=["lightgbm", "linear"], max_models=4, num_folds=3,
                 path=mount / "runs", verbosity=0, time_limit=60)
    out: dict = {}
    try:
        aml.fit(make_binary_frame(400, 0))
        out["fit"] = "no error"
    except DiskFullError as err:
        out["fit"] = str(err)
    except Exception as err:  # noqa: BLE001 - reported for the test to show
        out["fit"] = f"{type(err).__name__}: {err}"
    out["folder"] = getattr(aml, "experiment_path_", None)
    filler.unlink()
    try:
        again = AutoML.resume(out["folder"], time_limit=60)
        out["resumed_best"] = again.best_model_
        out["resumed_models"] = int(len(again.leaderboard()))
    except Exception:  # noqa: BLE001 - the whole traceback, for the test to show
        out["resume_error"] = traceback.format_exc()
    print(json.dumps(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
