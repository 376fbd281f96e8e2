"""`make tune`: the settings that matter chosen by Optuna on the dataset's validation period, for `make train`.

Each trial fits every model with its settings on the training period's fit part (the test split is never read),
prunes itself after the towers when their Recall@200 on the validation period is below the median of earlier trials
at that point, and otherwise chooses its candidate sources' mix on the validation period (training.choice); its
value is that choice's objective. The study (seeded TPE, median pruning) is stored under
ARTIFACTS_DIR/tune/<dataset>/study.db, so a second run goes on from the first; the best trial's settings are written to
training/tuned/<dataset>.json, after a final-stage check with those settings (the learned final stage fitted as make
train would, kept only when it beats the formula on the validation period) that sets final.learned: make train runs
the final-stage pass only where it pays. main() sets glibc's heap (training.memory) before anything starts a thread,
so this module's top imports only the standard library, the settings and that module.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path

from movierec.config import ARTIFACTS_DIR, TrainConfig
from training.memory import keep_freed_memory

UNITS = {"128-64-32": (128, 64, 32), "256-128-64": (256, 128, 64), "512-256-128": (512, 256, 128)}


def suggest(trial) -> dict:
    """One trial's model settings (training.settings keys): temperature, embedding and history sizes, the rating
    head's size, dropout and learning rate. The towers' epochs are stopped early within each trial, at most the
    built-in ones scaled to the dataset's size (training.settings.scaled_to_size), which bounds make train's time."""
    temperature = trial.suggest_float("temperature", 0.02, 0.2, log=True)
    dim = trial.suggest_categorical("embedding_dim", [16, 32, 64])
    units = trial.suggest_categorical("ranking_units", list(UNITS))
    dropout = trial.suggest_float("ranking_dropout", 0.0, 0.5)
    return {
        "retrieval.temperature": temperature,
        "sequence.temperature": temperature,
        "retrieval.user_id_dim": dim,
        "retrieval.movie_id_dim": dim,
        "sequence.user_id_dim": dim,
        "sequence.movie_id_dim": dim,
        "history_length": trial.suggest_categorical("history_length", [50, 100, 200]),
        "ranking.units": list(UNITS[units]),
        "ranking.dropouts": [round(dropout * share, 4) for share in (1.0, 2 / 3, 1 / 3)],
        "ranking.learning_rate": trial.suggest_float("ranking_learning_rate", 3e-4, 3e-3, log=True),
    }


def start_params(cfg: TrainConfig) -> dict:
    """The trial parameters that reproduce cfg's settings (the first trial: what is chosen must beat it)."""
    units = next((name for name, value in UNITS.items() if value == tuple(cfg.ranking.units)), "256-128-64")
    return {
        "temperature": cfg.retrieval.temperature,
        "embedding_dim": cfg.retrieval.user_id_dim,
        "ranking_units": units,
        "ranking_dropout": cfg.ranking.dropouts[0],
        "history_length": cfg.history_length,
        "ranking_learning_rate": cfg.ranking.learning_rate,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from training.data import dataset_args

    parser = argparse.ArgumentParser(prog="python -m training.tune", description=__doc__.splitlines()[0])
    dataset_args(parser)
    parser.add_argument(
        "--budget",
        type=float,
        default=45.0,
        help="minutes (default 45): no trial starts that would likely end after them (the mean trial's time)",
    )
    parser.add_argument("--trials", type=int, default=None, help="at most this many trials in this run (default: any)")
    parser.add_argument("--mix-trials", type=int, default=60, help="trials of each trial's mix choice (default 60)")
    parser.add_argument("--seed", type=int, default=TrainConfig().seed)
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="tune on the training period of `make holdout --holdout FRACTION` (its first part), so that make holdout "
        "can check the choice on a period the study never saw; default 0: the whole training period",
    )
    parser.add_argument("--output", type=Path, default=None, help="study folder (default ARTIFACTS_DIR/tune/<dataset>)")
    parser.add_argument(
        "--settings-out",
        type=Path,
        default=None,
        help="default training/tuned/<dataset>.json (with --holdout: <dataset>.json in the study folder)",
    )
    parser.add_argument(
        "--final-stage-only",
        action="store_true",
        help="no study: run only the final-stage check with the settings file's settings and write its answer "
        "(final.learned) into that file",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ go (default: data/)")
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bars")
    args = parser.parse_args(argv)
    if not args.budget > 0:
        parser.error(f"--budget must be a number of minutes above 0, got {args.budget}")
    if args.trials is not None and args.trials < 1:
        parser.error(f"--trials must be at least 1, got {args.trials}")
    if not 0.0 <= args.holdout < 1.0:
        parser.error(f"--holdout must be at least 0 and below 1, got {args.holdout}")
    if args.mix_trials < 1:
        parser.error(f"--mix-trials must be at least 1, got {args.mix_trials}")
    return args


def tune(args: argparse.Namespace) -> Path:
    """Run the study; returns the settings file written."""
    import keras
    import optuna

    from movierec.data.prepare import prepare_dataset
    from movierec.data.split import evaluation_split, validation_mask
    from training.choice import choice_pass
    from training.settings import apply, read, scaled_to_size, settings_path, write
    from training.train import data_dirs

    cfg = dataclasses.replace(TrainConfig(), seed=args.seed)
    data = prepare_dataset(args.archive, *data_dirs(args.data_dir), dataset=args.dataset)
    # the training period (of make holdout's split with --holdout); the test split is never read
    train = evaluation_split(data.ratings, cfg.test_fraction, args.holdout).train
    is_val = validation_mask(train, cfg.validation)
    fit, validation = train.loc[~is_val], train.loc[is_val]
    cfg, note = scaled_to_size(cfg, len(train))  # the most epochs each trial's towers may take
    print(note)
    print(
        f"{args.dataset}: tuning on the training period's {len(train):,} ratings: fitted on {len(fit):,}, judged on "
        f"the validation period's {len(validation):,} ({validation['user_id'].nunique():,} users)",
        flush=True,
    )
    name = args.dataset if not args.holdout else f"{args.dataset}-holdout-{args.holdout:g}"
    folder = args.output or ARTIFACTS_DIR / "tune" / name
    # a held-out study's settings go beside its study (make holdout SETTINGS=...), never over the dataset's own file
    default = settings_path(args.dataset) if not args.holdout else folder / f"{args.dataset}.json"
    if args.final_stage_only:
        existing = read(args.settings_out or default, args.dataset)
        settings, chosen = dict(existing.settings), dict(existing.chosen)
        settings["final.learned"], chosen["final_stage"] = final_stage_check(args, data, train, settings)
        path = write(existing.path, args.dataset, settings, chosen)
        print(f"settings: {path}")
        return path
    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=name,
        storage=f"sqlite:///{folder / 'study.db'}",
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=args.seed, n_startup_trials=5),
        # a tower's first epochs say little about where it ends: no trial is pruned before its third epoch
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    if not study.trials:
        study.enqueue_trial(start_params(cfg))  # the built-in settings, measured the same way

    def objective(trial) -> float:
        keras.utils.set_random_seed(args.seed)
        trial_cfg = apply(cfg, suggest(trial), f"trial {trial.number}")

        def report(step: int, recall: float) -> None:
            trial.report(recall, step=step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        verbose = 0 if args.quiet else 1
        chosen, record = choice_pass(trial_cfg, data, train, data.users, {}, verbose, args.mix_trials, report)
        trial.set_user_attr("epochs", record["epochs"])
        trial.set_user_attr("mix", record["mix"])
        trial.set_user_attr("figures", record["figures"])
        trial.set_user_attr("rating_head", {k: record["rating_head"][k] for k in ("val_rmse", "val_rmse_bias_model")})
        return record["objective"]

    durations: list[float] = []

    def progress(study, trial) -> None:
        """A line per trial; no trial starts that would likely end after the budget."""
        if trial.datetime_complete and trial.datetime_start:
            durations.append((trial.datetime_complete - trial.datetime_start).total_seconds())
        elapsed = time.perf_counter() - started
        # the final-stage check after the study costs about one trial: no trial starts that leaves no time for it
        if durations and elapsed + 2 * sum(durations) / len(durations) > args.budget * 60:
            study.stop()
        finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = study.best_trial if finished else None
        state = trial.state.name.lower()
        value = f" objective {trial.value:.4f}" if trial.state == optuna.trial.TrialState.COMPLETE else ""
        print(
            f"--- trial {trial.number} {state}{value}; best so far: "
            + ("none" if best is None else f"trial {best.number}, {best.value:.4f}")
            + f"; {elapsed / 60:.1f} of {args.budget:g} min",
            flush=True,
        )

    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(
        objective,
        n_trials=args.trials,
        timeout=args.budget * 60,
        callbacks=[progress],
        show_progress_bar=True,
        gc_after_trial=True,
    )
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise SystemExit("error: no trial finished within the budget; raise --budget")
    best = study.best_trial
    epochs = {f"{kind}.epochs": value for kind, value in best.user_attrs["epochs"].items()}
    settings = {**suggest(optuna.trial.FixedTrial(best.params)), **epochs, **best.user_attrs["mix"]}
    first = complete[0]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    chosen = {
        "by": (
            f"make tune: Optuna {optuna.__version__} TPE (seed {args.seed}) with median pruning, "
            f"{len(study.trials)} trials ({pruned} pruned) on the validation period"
        ),
        "date": datetime.date.today().isoformat(),
        "objective": "geometric mean of the validation period's static Recall@200, NDCG@10, liked NDCG@10 and "
        "streaming HR@10 (training.choice)",
        "value": best.value,
        "figures": best.user_attrs["figures"],
        "rating_head": best.user_attrs["rating_head"],
        "trial": best.number,
        "start_value": first.value,
        "start_figures": first.user_attrs["figures"],
        "validation_ratings": int(len(validation)),
        "fit_ratings": int(len(fit)),
        "holdout_fraction": args.holdout,
    }
    settings["final.learned"], chosen["final_stage"] = final_stage_check(args, data, train, settings)
    path = write(args.settings_out or default, args.dataset, settings, chosen)
    print(f"\nbest: trial {best.number}, objective {best.value:.4f} (the built-in settings: {first.value:.4f})")
    print(f"settings: {path}")
    return path


def final_stage_check(args: argparse.Namespace, data, train, settings: dict) -> tuple[bool, dict]:
    """(whether the learned final stage orders the candidates, the check's record): with these settings, every model
    fitted on the fit part and the head cross-fitted on the validation period (training.final_stage), as make train
    would; make train then runs that pass only where the head beat the formula here."""
    import keras

    from training.final_stage import fit_part, learn_final_stage
    from training.settings import apply

    cfg = apply(dataclasses.replace(TrainConfig(), seed=args.seed), settings, "the chosen settings")
    cfg = dataclasses.replace(cfg, final=dataclasses.replace(cfg.final, learned=True))
    print("\nfinal-stage check: does a learned head beat the formula on the validation period?", flush=True)
    keras.utils.set_random_seed(args.seed)
    part = fit_part(cfg, data, train, data.users, verbose=0 if args.quiet else 1)
    _, record = learn_final_stage(part, cfg, data.description.liked_threshold)
    print(f"final-stage check: {record['why']}", flush=True)
    keys = ("kept", "why", "epochs", "gain", "standard_error", "held_out_figures", "examples")
    return bool(record["kept"]), {key: record[key] for key in keys}


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before TensorFlow starts a thread (training.memory)
    args = parse_args(argv)
    from movierec.errors import MovieRecError

    try:
        tune(args)
    except MovieRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
