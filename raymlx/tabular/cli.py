"""``raymlx fit`` (or resume), ``predict``, ``leaderboard`` and ``explain`` on CSV / Parquet
files, and ``serve`` (a saved predictor over HTTP on Ray Serve)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from raymlx.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds ``fit``, ``predict`` and ``leaderboard`` to the ``raymlx`` command."""
    fit = sub.add_parser("fit", help="search, bag and ensemble models; save the predictor")
    fit.add_argument("train", nargs="?",
                     help="training table: a CSV or Parquet file, folder or glob")
    fit.add_argument("--label", help="column to predict (required unless --resume)")
    fit.add_argument("--output", required=True, help="folder to save the predictor in")
    fit.add_argument("--resume", default=None, metavar="DIR",
                     help="finish an interrupted fit from its folder (the fit logs it); "
                          "the other options are the interrupted fit's")
    fit.add_argument("--time-limit", type=float, default=None, help="seconds for the fit")
    fit.add_argument("--max-models", type=int, default=None, help="most trials to run")
    fit.add_argument("--metric", default=None, help="e.g. roc_auc, log_loss, rmse, accuracy")
    fit.add_argument("--problem-type", default=None,
                     choices=["binary", "multiclass", "regression"])
    fit.add_argument("--presets", default=None,
                     choices=["fast", "medium_quality", "best_quality"],
                     help="quality preset (default medium_quality); best_quality stacks")
    fit.add_argument("--num-folds", type=int, default=None, help="folds of bagging")
    fit.add_argument("--num-stack-levels", type=int, default=None,
                     help="stacking layers above the searched models")
    fit.add_argument("--num-bag-sets", type=int, default=None,
                     help="repeats of k-fold bagging (while time allows)")
    fit.add_argument("--dynamic-stacking", default=None, choices=["on", "off"],
                     help="keep the stack only if it beats layer 1 on a holdout")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--families", default=None,
                     help="comma-separated model families, e.g. lightgbm,xgboost")
    fit.add_argument("--searcher", default="auto",
                     choices=["auto", "random", "tpe", "gp", "evolution", "rl"],
                     help="what proposes configurations after the portfolio")
    fit.add_argument("--scheduler", default=None, choices=["asha"],
                     help="stop poor configurations after one fold (ASHA over folds)")
    fit.add_argument("--path", default=None,
                     help="where the fit's folder goes (default ./raymlx_runs; on several "
                          "nodes, storage every node mounts at the same place)")
    fit.add_argument("--address", default=None, help="Ray cluster address (or RAY_ADDRESS)")
    fit.add_argument("--cpus-per-trial", type=int, default=1, help="CPUs each trial gets")
    fit.add_argument("--use-gpus", default=None, choices=["auto", "on", "off"],
                     help="GPU families (xgboost, mlp) on GPUs: auto (default) when the "
                          "cluster has some")
    fit.add_argument("--memory-per-trial", default=None,
                     help="memory a trial may use, e.g. 2GB; past it the trial fails")
    fit.add_argument("--max-retries", type=int, default=2,
                     help="retries of a trial whose worker or node dies")
    fit.add_argument("--data-path", default="auto", choices=["auto", "memory", "distributed"],
                     help="in-memory or large-data path (auto: by the table's size)")
    fit.add_argument("--max-in-memory-bytes", default=None,
                     help="largest prepared table the in-memory path takes, e.g. 8GB")
    fit.add_argument("--workers-per-trial", type=int, default=None,
                     help="Ray Train workers per large-data trial (default: one per node)")
    fit.add_argument("--refit-full", action="store_true",
                     help="after the search, one model on all rows per bag of the final model")
    fit.add_argument("--infer-limit", type=float, default=None, metavar="SECONDS",
                     help="per-row prediction latency the final model must stay under")
    fit.add_argument("--infer-limit-batch-size", type=int, default=None, metavar="ROWS",
                     help="rows per call the latency is measured on (default 10000)")
    fit.add_argument("--calibrate", default="auto", choices=["auto", "on", "off"],
                     help="the final model's temperature and decision threshold (auto: "
                          "as the metric needs)")
    fit.add_argument("--quiet", action="store_true", help="no progress lines")

    pred = sub.add_parser("predict", help="predict with a saved predictor")
    pred.add_argument("predictor", help="folder written by `raymlx fit` or AutoML.save")
    pred.add_argument("data", help="table to predict: a CSV or Parquet file, a folder or a "
                                   "quoted glob of them, e.g. 'data/*.parquet'")
    pred.add_argument("--output", required=True,
                      help="a .csv file (scored in this process), or a new folder for Parquet "
                           "shards (scored on the Ray cluster, with a progress bar)")
    pred.add_argument("--keep-columns", default=None,
                      help="comma-separated input columns to copy beside the predictions "
                           "(Parquet output), e.g. an id")
    pred.add_argument("--model", default=None, help="a model of the leaderboard (default: best)")

    srv = sub.add_parser("serve", help="serve a saved predictor over HTTP on Ray Serve")
    srv.add_argument("predictor", help="folder written by `raymlx fit` or AutoML.save (on "
                                       "storage every node reads, for replicas elsewhere)")
    srv.add_argument("--replicas", type=int, default=1, help="replicas of the model")
    srv.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    srv.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    srv.add_argument("--cpus-per-replica", type=float, default=1.0)
    srv.add_argument("--max-batch-size", type=int, default=64,
                     help="most requests scored in one model call")
    srv.add_argument("--batch-wait-ms", type=float, default=1.0,
                     help="how long a request waits for others to batch with")
    srv.add_argument("--model", default=None, help="a model of the leaderboard (default: best)")
    srv.add_argument("--address", default=None, help="Ray cluster address (or RAY_ADDRESS)")
    srv.add_argument("--detach", action="store_true",
                     help="leave the app running on the cluster and return")

    board = sub.add_parser("leaderboard", help="show a saved predictor's leaderboard")
    board.add_argument("predictor", help="folder written by `raymlx fit` or AutoML.save")
    board.add_argument("--test", default=None, help="labelled table to score the models on")
    board.add_argument("--extra", action="store_true",
                       help="also each model's fit order, dependencies, size on disk and "
                            "per-row predict time")

    expl = sub.add_parser("explain", help="explain a saved predictor on a table: tables "
                                          "(CSV) and plots (PNG) of every kind")
    expl.add_argument("predictor", help="folder written by `raymlx fit` or AutoML.save")
    expl.add_argument("data", help="rows to explain, a CSV or Parquet file; with the label "
                                   "column for the kinds that score")
    expl.add_argument("--output", required=True, help="folder for <kind>.csv and <kind>.png")
    expl.add_argument("--kinds", default=None,
                      help="comma-separated kinds (default: all that apply): "
                           "importance,shap,pdp,ice,residuals,confusion,model_correlation,"
                           "importance_heatmap")
    expl.add_argument("--model", default=None, help="a model of the leaderboard (default: best)")
    expl.add_argument("--max-rows", type=int, default=2000, help="rows sampled at most")


def _fit(args) -> None:
    from raymlx.tabular.automl import AutoML

    if args.resume:
        if args.train or args.label:
            raise InputError("--resume finishes the fit in DIR with its own table and "
                             "options; drop the training table and --label")
        aml = AutoML.resume(args.resume, time_limit=args.time_limit, address=args.address,
                            verbosity=0 if args.quiet else 1)
        _save_and_show(aml, args.output)
        return
    if not args.train or not args.label:
        raise InputError("give the training table and --label (or --resume DIR)")
    aml = AutoML(**_fit_arguments(args))
    aml.fit(args.train)
    _save_and_show(aml, args.output)


# options whose text needs turning into AutoML's value; every other option of `fit` named
# like an argument of AutoML is passed as parsed
_CONVERT = {
    "families": lambda v: v.split(",") if v else None,
    "dynamic_stacking": lambda v: None if v is None else v == "on",
    "use_gpus": lambda v: {None: None, "auto": None, "on": True, "off": False}[v],
    "calibrate": lambda v: {"auto": "auto", "on": True, "off": False}[v],
}


def _fit_arguments(args: argparse.Namespace) -> dict:
    """AutoML's keyword arguments from the parsed ``fit`` options."""
    from raymlx.tabular.automl import AutoML

    given = vars(args)
    params = {name: _CONVERT.get(name, lambda v: v)(given[name])
              for name in AutoML._get_param_names() if name in given}
    params["verbosity"] = 0 if args.quiet else 1
    return params


def _save_and_show(aml, output: str) -> None:
    folder = aml.save(output)
    _print_board(aml.leaderboard())
    print(f"saved to {folder}")


def _predict(args) -> None:
    from raymlx.tabular.automl import AutoML

    aml = AutoML.load(args.predictor)
    keep = args.keep_columns.split(",") if args.keep_columns else None
    if not args.output.lower().endswith((".csv", ".tsv")):
        from raymlx.tabular.batch_predict import write_predictions

        written = write_predictions(aml, args.data, args.output, args.model, keep)
        if written is None:
            print(f"wrote the predictions to {args.output}")
        else:
            rows, files = written
            print(f"wrote {rows} predictions in {files} Parquet file{'s' * (files != 1)} "
                  f"to {args.output}")
        return
    if keep:
        raise InputError("--keep-columns is for Parquet output; give --output a folder")
    from raymlx.tabular.data import load_table

    df = load_table(args.data, "prediction data")
    labels, proba = aml._predict_frame(df, args.model, "prediction data")  # one pass for both
    out = pd.DataFrame({"prediction": labels}, index=df.index)
    if proba is not None:
        for j, c in enumerate(aml.problem_.classes):
            out[str(c)] = proba[:, j]
    Path(args.output).expanduser().parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.output, index=False)
    print(f"wrote {len(out)} predictions to {args.output}")


def _serve(args) -> None:
    import signal
    import time

    from raymlx.tabular.serving import serve_predictor, stop_serving

    try:
        url = serve_predictor(args.predictor, replicas=args.replicas, host=args.host,
                              port=args.port, cpus_per_replica=args.cpus_per_replica,
                              max_batch_size=args.max_batch_size,
                              batch_wait_timeout_s=args.batch_wait_ms / 1000.0,
                              address=args.address, model=args.model)
    except KeyboardInterrupt:  # Ctrl-C while the replicas start: none is left running
        stop_serving()
        raise
    print(f"serving {args.predictor} at {url}: POST {url}/predict, GET {url}/schema, "
          f"GET {url}/healthz", flush=True)
    if args.detach:
        print("left running on the cluster; `serve shutdown` or `raymlx serve` again "
              "replaces it", flush=True)
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop_serving()
        print("stopped serving", flush=True)


def _leaderboard(args) -> None:
    from raymlx.tabular.automl import AutoML

    _print_board(AutoML.load(args.predictor).leaderboard(args.test, extra_info=args.extra))


def _explain(args) -> None:
    from raymlx.tabular.automl import AutoML

    aml = AutoML.load(args.predictor)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    out = aml.explain(args.data, kinds=kinds, plot_dir=args.output, model=args.model,
                      max_rows=args.max_rows)
    tables = out.write_tables(args.output)
    print(f"explained {out.model} on {args.data}:")
    for kind, path in tables.items():
        plot = f", {out.plots[kind]}" if kind in out.plots else ""
        print(f"  {kind}: {path}{plot}")
    for kind, note in out.notes.items():
        print(f"  note ({kind}): {note}")
    if "importance" in out.tables:
        print("importance, best first:")
        print(out.tables["importance"].head(10).to_string(index=False))


def _print_board(board: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 200, "display.width", 160,
                           "display.max_colwidth", 60):
        print(board.drop(columns=["config"]).to_string(index=False))


def run(args: argparse.Namespace) -> None:
    {"fit": _fit, "predict": _predict, "leaderboard": _leaderboard, "serve": _serve,
     "explain": _explain}[args.command](args)
