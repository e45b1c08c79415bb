"""raymlx: Ray-native AutoML.

The products, one folder each:

- ``raymlx.tabular``: ``AutoML`` (and the scikit-learn estimators) search model families and
  their hyperparameters as Ray Tune trials, bag each over k folds with out-of-fold
  predictions in Ray's object store, stack and ensemble them;
- ``raymlx.searchers`` and ``raymlx.schedulers``: Tune searchers and schedulers usable in any
  plain ``tune.Tuner``;
- ``raymlx.nas``: DARTS and ProxylessNAS supernets on Ray Train;
- ``raymlx.cluster``: the resource manager, its live report, memory guard, auth and deploy
  templates;
- ``raymlx.testing``: conformance suites for third-party searchers, schedulers and families.

``AutoML`` and the other tabular names are imported on first use, so ``raymlx.nas``'s
supernets and loops (pure torch) import without loading Ray.
"""

from raymlx._internal import moved as _moved
from raymlx.errors import DiskFullError, FitError, InputError, LoadError

__version__ = "0.1.0"

_TABULAR = ("AutoML", "AutoMLClassifier", "AutoMLRegressor", "ModelFamily", "register_family")

__all__ = [*_TABULAR, "DiskFullError", "FitError", "InputError", "LoadError", "__version__"]

_moved.install()  # old import paths (raymlx.metrics, raymlx.models, ...) keep working


def __getattr__(name: str):
    if name in _TABULAR:
        import raymlx.tabular

        return getattr(raymlx.tabular, name)
    raise AttributeError(f"module 'raymlx' has no attribute {name!r}")
