"""raymlx's Tune schedulers, exact to their papers; each works with a plain ``tune.Tuner``.

- :class:`SuccessiveHalvingScheduler` (Jamieson & Talwalkar 2016)
- :class:`HyperbandScheduler` (Li et al. 2018)
- :class:`ASHAScheduler` (Li et al. 2020; promotion rule, stopping rule optional)
- :class:`BOHBScheduler` (Falkner et al. 2018; pair with ``raymlx.searchers.BOHBSearch``)
- :class:`PBTScheduler` (Jaderberg et al. 2017)

All take ``time_attr`` (any increasing reported key), ``metric`` and ``mode`` (or get them
from ``TuneConfig``), and persist their decisions beside the experiment so that
``Tuner.restore`` continues where the run stopped.
"""

from raymlx.schedulers.asha import ASHAScheduler
from raymlx.schedulers.bohb import BOHBScheduler
from raymlx.schedulers.hyperband import HyperbandScheduler
from raymlx.schedulers.pbt import PBTScheduler
from raymlx.schedulers.successive_halving import SuccessiveHalvingScheduler

__all__ = ["ASHAScheduler", "BOHBScheduler", "HyperbandScheduler", "PBTScheduler",
           "SuccessiveHalvingScheduler"]
