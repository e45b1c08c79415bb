"""Signed predictor folders: with a key, load refuses an unsigned, foreign-signed or changed
folder before it unpickles anything. Runs on the bundled format-1 predictor (no Ray)."""

import hashlib
import json
import logging
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from raymlx import AutoML
from raymlx.errors import InputError, LoadError
from raymlx.tabular.signing import KEY_ENV, SIGNATURE

DATA = Path(__file__).resolve().parents[1] / "data"
KEY = "a-secret-of-more-than-16-bytes"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "predictor_v1_rows.csv")


@pytest.fixture
def signed(tmp_path) -> Path:
    return AutoML.load(DATA / "predictor_v1").save(tmp_path / "signed", signing_key=KEY)


class _TouchOnLoad:
    """A pickle that creates a file when it is unpickled: what a hostile folder can do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def _rewrite(folder: Path, rel: str, data: bytes) -> None:
    """Replaces a file and fixes its checksum in the manifest, as an attacker without the
    key can; the signature is left as it was."""
    (folder / rel).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][rel] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_a_signed_folder_loads_with_its_key_and_predicts_the_same(signed, rows):
    assert json.loads((signed / SIGNATURE).read_text())["algorithm"] == "hmac-sha256"
    loaded = AutoML.load(signed, signing_key=KEY.encode())
    reference = AutoML.load(DATA / "predictor_v1")
    pd.testing.assert_frame_equal(loaded.predict_proba(rows), reference.predict_proba(rows))


def test_a_key_refuses_unsigned_and_foreign_signed_folders(signed, tmp_path):
    unsigned = AutoML.load(signed, signing_key=KEY).save(tmp_path / "plain")
    assert not (unsigned / SIGNATURE).exists()
    with pytest.raises(LoadError, match="is not signed and a signing key is set"):
        AutoML.load(unsigned, signing_key=KEY)
    with pytest.raises(LoadError, match="signed with another key or changed"):
        AutoML.load(signed, signing_key="another-key-of-some-length")


def test_a_changed_pickle_is_refused_before_it_is_unpickled(signed, tmp_path):
    marker = tmp_path / "ran"
    _rewrite(signed, "predictor.pkl", pickle.dumps(_TouchOnLoad(marker)))
    with pytest.raises(LoadError, match="fails its signature check"):
        AutoML.load(signed, signing_key=KEY)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - without a key the folder's code runs
        AutoML.load(signed)
    assert marker.exists()


def test_a_changed_byte_or_an_added_file_is_refused(signed):
    copy = signed.parent / "copy"
    shutil.copytree(signed, copy)
    manifest = (copy / "manifest.json").read_bytes()
    (copy / "manifest.json").write_bytes(manifest.replace(b'"python"', b'"pythoN"', 1))
    with pytest.raises(LoadError, match="fails its signature check"):
        AutoML.load(copy, signing_key=KEY)
    (signed / "models" / "extra.pkl").write_bytes(pickle.dumps(1))
    with pytest.raises(LoadError, match="'models/extra.pkl', which its signed manifest"):
        AutoML.load(signed, signing_key=KEY)


def test_a_fold_model_swapped_after_load_is_caught_when_first_read(signed, rows):
    aml = AutoML.load(signed, signing_key=KEY)
    target = next(signed.glob("models/*/fold_models.pkl"))
    target.write_bytes(target.read_bytes() + b"\x00")  # pickle ignores what follows STOP
    with pytest.raises(LoadError, match="does not match its checksum"):
        aml.predict_proba(rows, model=target.parent.name)


def test_the_key_comes_from_the_environment_and_empty_keys_are_refused(tmp_path, monkeypatch,
                                                                       caplog):
    source = AutoML.load(DATA / "predictor_v1")
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = source.save(tmp_path / "env")
    assert (folder / SIGNATURE).is_file()
    AutoML.load(folder)
    with pytest.raises(LoadError, match="signature check"):
        AutoML.load(folder, signing_key="not-the-key-from-env")
    monkeypatch.delenv(KEY_ENV)
    with caplog.at_level(logging.WARNING, logger="raymlx"):
        AutoML.load(folder)  # no key: loads on its checksums, and says so
    assert "is signed but no signing key was given" in caplog.text
    with pytest.raises(InputError, match="signing_key is empty"):
        source.save(tmp_path / "empty", signing_key="")
    assert not (tmp_path / "empty").exists()
