"""Neural architecture search: DARTS and ProxylessNAS supernets trained on Ray Train.

``search`` trains a supernet on N Ray Train workers and derives a genotype; ``train`` trains
a genotype from scratch; ``tune_search`` lets the HPO searchers drive the discrete spaces
through Ray Tune, one briefly trained architecture per trial.
"""

from raymlx.nas.api import SearchResult, TrainResult, search, train
from raymlx.nas.plots import plot_architecture_weights
from raymlx.nas.spaces import SPACES, build_network, random_genotype, validate_genotype
from raymlx.nas.tune_search import architecture_space, tune_search

__all__ = ["SPACES", "SearchResult", "TrainResult", "architecture_space", "build_network",
           "plot_architecture_weights", "random_genotype", "search", "train",
           "tune_search", "validate_genotype"]
