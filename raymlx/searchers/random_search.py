"""Random search over Tune domains, after an optional list of points to evaluate first.

Bergstra & Bengio (2012): random search is the baseline every model-based searcher must
beat. raymlx uses it, with the model families' portfolio as ``points_to_evaluate``, as the
default searcher of :class:`~raymlx.AutoML`. It resolves nested and conditional
``tune.choice`` spaces itself and works in a plain ``tune.Tuner``.
"""

from __future__ import annotations

from raymlx.searchers.base import SpaceSearcher


class RandomSearch(SpaceSearcher):
    """Suggests ``points_to_evaluate`` in order, then independent samples from the priors.

    Same ``seed`` -> the same sequence of suggestions. ``save``/``restore`` keep the random
    state and the position in ``points_to_evaluate``, so a restored search goes on where it
    stopped instead of repeating itself.
    """

    def _propose(self, trial_id: str):
        return self._sample()
