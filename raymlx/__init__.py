"""raymlx: Ray-native AutoML.

``AutoML`` searches model families and their hyperparameters as Ray Tune trials, bags each
over k folds with out-of-fold predictions in Ray's object store, and ensembles them.
"""

__version__ = "0.1.0"

from raymlx.automl import AutoML  # noqa: E402
from raymlx.errors import FitError, InputError, LoadError  # noqa: E402

__all__ = ["AutoML", "FitError", "InputError", "LoadError", "__version__"]
