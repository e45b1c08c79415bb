"""raymlx: Ray-native AutoML.

``AutoML`` searches model families and their hyperparameters as Ray Tune trials, bags each
over k folds with out-of-fold predictions in Ray's object store, and ensembles them.
``raymlx.nas`` searches neural architectures (DARTS, ProxylessNAS) on Ray Train.

``AutoML`` is imported on first use, so ``raymlx.nas``'s supernets and loops (pure torch)
import without loading Ray.
"""

from raymlx.errors import FitError, InputError, LoadError

__version__ = "0.1.0"

__all__ = ["AutoML", "FitError", "InputError", "LoadError", "__version__"]


def __getattr__(name: str):
    if name == "AutoML":
        from raymlx.automl import AutoML

        return AutoML
    raise AttributeError(f"module 'raymlx' has no attribute {name!r}")
