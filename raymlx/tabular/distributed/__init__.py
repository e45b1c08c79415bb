"""The large-data path of the tabular product: tables that do not fit one process.

A fit whose prepared matrix is too large for the in-memory path (:mod:`.path_choice`)
prepares the table in one streaming pass and writes it once, as float32 Parquet split into
a training part and a seeded, stratified holdout (:mod:`.holdout`, :mod:`.prepare`); its
trials are Ray Tune trials that each run a Ray Train ``XGBoostTrainer`` or
``LightGBMTrainer`` over N workers, every worker reading only its own files
(:mod:`.boosting`, :mod:`.trial`); ASHA stops poor configurations on the boosting rounds;
the holdout predictions live in the fit's store actor and a greedy weighted ensemble is
selected over them (:mod:`.fit`).
"""
