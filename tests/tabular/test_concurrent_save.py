"""Two processes saving to one predictor folder at once: both succeed, the folder holds one
whole predictor (its manifest's checksums all match), never a mix of the two, and no
temporary folder is left. The window the swap lock closes (between a save's two renames)
is microseconds wide, so this test passes without the lock on most runs too: it pins the
outcome, not the lock."""

import subprocess
import sys
from pathlib import Path

from raymlx import AutoML

DATA = Path(__file__).resolve().parents[1] / "data"
SAVER = """
import sys
from raymlx import AutoML
aml = AutoML.load(sys.argv[1])
aml.fit_time_s_ = float(sys.argv[3])  # tells the two writers' predictors apart
for _ in range(int(sys.argv[4])):
    aml.save(sys.argv[2])
"""


def test_two_processes_saving_to_one_folder_leave_one_whole_predictor(tmp_path):
    target = tmp_path / "shared"
    AutoML.load(DATA / "predictor_v1").save(target)
    procs = [subprocess.Popen([sys.executable, "-c", SAVER, str(DATA / "predictor_v1"),
                               str(target), str(k), "80"], stderr=subprocess.PIPE, text=True)
             for k in (1, 2)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errors]
    assert AutoML.load(target).fit_time_s_ in (1.0, 2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["shared"], [".shared.lock", "shared"])
