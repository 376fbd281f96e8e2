"""`make train`: data to bundle (towers, transitions, ranker, ONNX export, evaluation, peers), each stage timed.

main() sets glibc's heap for training (training.memory) before pandas, pyarrow or TensorFlow start a thread, so
this module's top imports only the standard library, the settings and that module; the rest is imported where used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from movierec.config import ARTIFACTS_DIR, PROCESSED_DIR, RAW_DIR, TrainConfig
from training.memory import keep_freed_memory
from training.stages import fit_models, peak_rss_mb, rating_head_line, stage


def settings_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        default=None,
        metavar="PATH",
        help="settings file to start from (default: training/tuned/<dataset>.json, written by `make tune`, when it "
        "exists); 'none': the built-in defaults. Options given here override it",
    )


def read_settings(argv: list[str] | None):
    """The settings file this run starts from (training.settings.SettingsFile), or None: the built-in defaults."""
    from training.data import dataset_args
    from training.settings import read, settings_path

    first = argparse.ArgumentParser(add_help=False)
    dataset_args(first)
    settings_args(first)
    known, _ = first.parse_known_args(argv)
    if known.settings == "none":
        return None
    if known.settings is not None:
        return read(Path(known.settings), known.dataset)
    path = settings_path(known.dataset)
    return read(path, known.dataset) if path.exists() else None


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, TrainConfig]:
    """(arguments, config): the built-in defaults, then the dataset's settings file, then these options. Raises
    training.settings.SettingsError for a bad settings file."""
    from movierec.retrievers import RETRIEVERS
    from training.data import dataset_args
    from training.settings import apply

    settings = read_settings(argv)
    defaults = TrainConfig() if settings is None else apply(TrainConfig(), settings.settings, str(settings.path))
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__)
    dataset_args(parser)  # --dataset, --archive ($DATASET, $DATA_ZIP / $ML1M_ZIP)
    settings_args(parser)
    parser.add_argument("--output", type=Path, default=ARTIFACTS_DIR, help="artifacts folder (default: artifacts/)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where raw/ and processed/ go (default: data/)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--retrieval-epochs",
        type=int,
        default=None,
        help=f"default: the settings file's, else {defaults.retrieval.epochs} scaled to the dataset's size",
    )
    parser.add_argument("--ranking-epochs", type=int, default=defaults.ranking.epochs)
    parser.add_argument("--retrieval-batch-size", type=int, default=defaults.retrieval.batch_size)
    parser.add_argument("--ranking-batch-size", type=int, default=defaults.ranking.batch_size)
    parser.add_argument(
        "--embedding-dim",
        type=int,
        default=defaults.retrieval.user_id_dim,
        help="user/movie id embedding size of the towers",
    )
    parser.add_argument("--output-dim", type=int, default=defaults.retrieval.output_dim, help="tower vector size")
    parser.add_argument("--history-length", type=int, default=defaults.history_length)
    parser.add_argument("--temperature", type=float, default=defaults.retrieval.temperature)
    parser.add_argument(
        "--sequence-weight",
        type=float,
        default=defaults.sequence.weight,
        help="weight of the causal sequence branch in the retrieval score, in [0, 1) (0: the pooled two-tower alone)",
    )
    parser.add_argument(
        "--live-weight",
        type=float,
        default=defaults.sequence.live_weight,
        help="the sequence branch's weight for users with ratings given after the training cut-off, in [0, 1]",
    )
    parser.add_argument(
        "--sequence-epochs",
        type=int,
        default=None,
        help=f"default: the settings file's, else {defaults.sequence.epochs} scaled to the dataset's size",
    )
    parser.add_argument(
        "--transition-weight",
        type=float,
        default=defaults.transitions.weight,
        help="weight of the transition term (what follows the user's latest ratings) in the retrieval score, at least "
        "0 (0: none)",
    )
    parser.add_argument(
        "--popularity-weight",
        type=float,
        default=defaults.popularity.weight,
        help="weight of the recent-popularity term (log(1 + each movie's ratings in the training period's last "
        "recent days)) in the retrieval score of users without live ratings, at least 0 (0: none)",
    )
    parser.add_argument(
        "--peers",
        nargs="+",
        default=None,
        metavar="METHOD",
        help="peer methods to fit, evaluate beside the two stages and save in the bundle for serving: any of "
        f"{' '.join(RETRIEVERS)}, or 'none' (default: all)",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=defaults.holdout_fraction,
        metavar="FRACTION",
        help="fit on the training period's first part and judge on its last FRACTION (the held-out period, where "
        "settings are chosen), never reading the test split nor the rating store; in [0, 1), default 0: the test split",
    )
    parser.add_argument(
        "--choice-trials",
        type=int,
        default=60,
        metavar="N",
        help="without a settings file: fit once on the training period's fit part, the towers stopped early on its "
        "validation period, and choose the candidate sources' mix there in N trials before the real fit (default 60; "
        "0: no choice pass, the built-in mix and size-scaled epochs)",
    )
    parser.add_argument(
        "--final-stage",
        choices=("learned", "formula"),
        default=None,
        help="how the retrieved candidates are ordered: 'learned', a head fitted on the validation period from models "
        "fitted on its fit part (training.final_stage), or 'formula' (default: the settings file's final.learned, "
        "else learned)",
    )
    parser.add_argument("--quiet", action="store_true", help="no Keras progress bars")
    parser.add_argument(
        "--database-url",
        default=None,
        help="rating store whose live ratings are folded into training (default: $DATABASE_URL, else "
        "movierec.sqlite3 in the data folder when it exists)",
    )
    args = parser.parse_args(argv)
    if not 0.0 <= args.sequence_weight < 1.0:
        parser.error(f"--sequence-weight must be at least 0 and below 1, got {args.sequence_weight}")
    if not 0.0 <= args.live_weight <= 1.0:
        parser.error(f"--live-weight must be in [0, 1], got {args.live_weight}")
    if not 0.0 <= args.transition_weight < float("inf"):
        parser.error(f"--transition-weight must be a number at least 0, got {args.transition_weight}")
    if not 0.0 <= args.popularity_weight < float("inf"):
        parser.error(f"--popularity-weight must be a number at least 0, got {args.popularity_weight}")
    for name in ("retrieval_epochs", "sequence_epochs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    # without a settings file, epochs not given here are scaled to the dataset's size (training.settings)
    args.size_scaled = settings is None and args.retrieval_epochs is None and args.sequence_epochs is None
    if args.choice_trials < 0:
        parser.error(f"--choice-trials must be at least 0, got {args.choice_trials}")
    if not 0.0 <= args.holdout < 1.0:
        parser.error(f"--holdout must be at least 0 and below 1, got {args.holdout}")
    peers = None
    if args.peers is not None:
        peers = () if args.peers == ["none"] else tuple(dict.fromkeys(args.peers))
        unknown = [name for name in peers if name not in RETRIEVERS]
        if unknown:
            parser.error(f"--peers: unknown method(s) {unknown}; choose from {' '.join(RETRIEVERS)}, or 'none' alone")
    cfg = dataclasses.replace(
        defaults,
        seed=args.seed,
        holdout_fraction=args.holdout,
        peers=peers,
        history_length=args.history_length,
        retrieval=dataclasses.replace(
            defaults.retrieval,
            epochs=args.retrieval_epochs or defaults.retrieval.epochs,
            batch_size=args.retrieval_batch_size,
            user_id_dim=args.embedding_dim,
            movie_id_dim=args.embedding_dim,
            output_dim=args.output_dim,
            temperature=args.temperature,
        ),
        sequence=dataclasses.replace(
            defaults.sequence,
            weight=args.sequence_weight,
            live_weight=args.live_weight,
            epochs=args.sequence_epochs or defaults.sequence.epochs,
        ),
        transitions=dataclasses.replace(defaults.transitions, weight=args.transition_weight),
        popularity=dataclasses.replace(defaults.popularity, weight=args.popularity_weight),
        ranking=dataclasses.replace(defaults.ranking, epochs=args.ranking_epochs, batch_size=args.ranking_batch_size),
    )
    if args.final_stage is not None:
        cfg = dataclasses.replace(cfg, final=dataclasses.replace(cfg.final, learned=args.final_stage == "learned"))
    args.settings_file = settings
    return args, cfg


def run(
    cfg: TrainConfig,
    archive,
    output: Path,
    raw_dir: Path,
    processed_dir: Path,
    verbose: int = 1,
    live=None,
    dataset: str | None = None,
    settings=None,
    choice_trials: int = 0,
    size_scaled: bool = False,
) -> Path:
    """The whole job; returns the exported bundle folder. live: movierec.data.live.LiveData to fold in (None: none);
    dataset: a name of movierec.datasets.registry.ADAPTERS (None: its DEFAULT_DATASET); settings: the
    training.settings.SettingsFile cfg started from (None: the built-in defaults), recorded in the manifest;
    choice_trials: above 0, a choice pass (training.choice) first chooses the candidate sources' mix on the validation
    period with that many trials; size_scaled: the towers' epochs scaled to the training period's size first
    (training.settings.scaled_to_size)."""
    import keras

    from movierec.artifacts import save_bundle
    from movierec.data.live import LiveData, describe, fold_in
    from movierec.data.prepare import prepare_dataset
    from movierec.data.split import evaluation_split
    from movierec.datasets.registry import DEFAULT_DATASET
    from movierec.evaluation.evaluate import evaluate
    from movierec.evaluation.peers import evaluate_peers
    from movierec.evaluation.report import every_method_lines, report_files
    from movierec.evaluation.streaming import same_events
    from movierec.models.export import to_onnx
    from movierec.models.ranking import inference_ranker
    from movierec.models.runtime import OnnxModel
    from movierec.recommender import Recommender
    from movierec.retrievers import RETRIEVERS
    from training.fit import served_ranker
    from training.settings import scaled_to_size

    keras.utils.set_random_seed(cfg.seed)
    timings: dict[str, float] = {}
    total = time.perf_counter()
    chosen = settings_record(settings, dataset or DEFAULT_DATASET)
    print(f"settings: {chosen['how']}")
    with stage("data", timings):
        data = prepare_dataset(archive, raw_dir, processed_dir, dataset=dataset or DEFAULT_DATASET)
        split = evaluation_split(data.ratings, cfg.test_fraction, cfg.holdout_fraction)
        judged = (
            "held out (the training period's last part; the test split is not read)" if cfg.holdout_fraction else "test"
        )
        print(f"{split.sizes[0]:,} train / {split.sizes[1]:,} {judged} ratings, cut-off {split.cutoff_timestamp}")
        live = None if cfg.holdout_fraction else live  # given after the cut-off: never part of a held-out run
        folded = fold_in(split, data.users, data.movies, live or LiveData.empty())
        split, users = folded.split, folded.users  # the archive's test split is unchanged
        print(describe(folded.summary))
    if size_scaled:
        cfg, note = scaled_to_size(cfg, len(split.train))
        chosen["how"] += f"; {note}"
        print(note)
    part = None
    if choice_trials > 0:
        from training.choice import choice_pass

        start = time.perf_counter()
        cfg, chosen["choice_pass"], part = choice_pass(
            cfg, data, split.train, users, {}, verbose, choice_trials, keep=True
        )
        chosen["how"] += "; the candidate sources' mix chosen on the validation period by a choice pass"
        timings["choice pass"] = round(time.perf_counter() - start, 2)
    final_head, chosen["final_stage"] = learned_final_stage(
        cfg, data, split.train, users, part, timings, verbose, chosen.get("chosen", {}).get("final_stage")
    )
    del part
    keras.utils.set_random_seed(cfg.seed)
    models = fit_models(cfg, data, split.train, users, timings, verbose)
    space, retrieval, vectors, fitted = models.space, models.retrieval, models.vectors, models.peers
    scoring, ranking_info, ranker = models.scoring, models.ranking_info, models.ranker
    with stage("onnx export", timings):
        onnx_models = {  # the ranker in its inference form: the same predictions from fewer operations
            "user_tower": to_onnx(retrieval.user_tower),
            "ranking_model": to_onnx(
                served_ranker(
                    inference_ranker(models.trained_ranker), vectors.shape[1], models.sequence is not None, cfg
                )
            ),
            "final_model": to_onnx(final_head),
        }
        threads = os.cpu_count() or 1  # one training process: all cores (the server pins one per worker)
        served = {name: OnnxModel(graph, f"{name}.onnx", threads) for name, graph in onnx_models.items()}
        print(", ".join(f"{name}.onnx {len(graph) / 1e6:.1f} MB" for name, graph in onnx_models.items()))
    with stage("evaluation", timings):  # through the exported graphs: what is evaluated is what is served
        recommender = Recommender.build(
            space=space,
            user_model=served["user_tower"],
            ranking_model=served["ranking_model"],
            final_model=served["final_model"] if chosen["final_stage"]["kept"] else None,  # as the bundle is served
            movie_vectors=vectors,
            movies=data.movies,
            users=users,
            train_ratings=split.train,
            scoring=scoring,
            description=data.description,
            peers=fitted,
        )
        result = evaluate(recommender, split, cfg.retrieve_k, cfg.final_k, cfg.recent_days)
        metrics = {**result["metrics"], "ranker_validation": ranking_info, "dataset": data.description.name}
        metrics["holdout_fraction"] = cfg.holdout_fraction  # what was judged: the test split (0) or the held-out period
        print_summary(metrics)
    with stage("peers", timings):  # the peers' methods on the same split, protocols and streaming events
        # every method the bundle will serve has figures: the chosen peers and the transition term's matrix
        names = list(RETRIEVERS) if cfg.peers is None else list(dict.fromkeys([*cfg.peers, *fitted]))
        if names:
            peers = evaluate_peers(
                names,
                split,
                space,
                data.description,
                *same_events(metrics["streaming"]["two_stage_events"]),
                cfg.retrieve_k,
                cfg.final_k,
                log=lambda line: print(line, flush=True),
                fitted=fitted,
            )
            metrics["peers"] = peers
            print("\n".join(every_method_lines(metrics)))
    with stage("export", timings):
        timings["total_before_export"] = round(time.perf_counter() - total, 2)
        extra = {
            "settings": chosen["how"],
            "settings chosen": json.dumps(chosen.get("settings", {})),
            "validation figures that chose them": json.dumps(validation_figures(chosen)),
            "rating head (validation period)": rating_head_line(ranking_info),
            "final stage (validation period)": chosen["final_stage"]["why"],
            "stage seconds": json.dumps({k: v for k, v in timings.items()}),
            "peak RSS MB": f"{peak_rss_mb():.0f}",
        }
        folder = save_bundle(
            output,
            keras_models={
                "user_tower": retrieval.user_tower,
                "movie_tower": retrieval.movie_tower,
                "retrieval_model": retrieval,
                "ranking_model": ranker,
                "final_model": final_head,
            },
            onnx_models=onnx_models,
            scoring=scoring,
            movie_vectors=vectors,
            space=space,
            movies=data.movies,
            users=users,
            train_ratings=split.train,
            config={**cfg.to_dict(), "live_ratings": folded.summary, "settings": chosen},
            metrics=metrics,
            data_sha256=data.sha256,
            timings={**timings, "peak_rss_mb": round(peak_rss_mb())},
            extra_files=report_files({**result, "metrics": metrics}, extra),
            description=data.description,
            peers=fitted,
        )
    print(f"\nbundle: {folder}  (report: {folder / 'report.md'})")
    print(f"total {time.perf_counter() - total:.1f}s, peak RSS {peak_rss_mb():.0f} MB; stages: {timings}")
    return folder


def learned_final_stage(cfg, data, train, users, part, timings: dict, verbose: int, tuned: dict | None = None):
    """(the final model, its record): learned on the validation period from the fit part's models (`part`, a choice
    pass's training.choice.FitPart, or fitted here), or the formula's when cfg.final.learned is off. tuned: the
    settings file's record of make tune's final-stage check, quoted when it turned the learned stage off."""
    from training.final_stage import fit_part, formula_head, learn_final_stage

    if not cfg.final.learned:
        why = "the formula orders the candidates (final.learned is off"
        why += f"; make tune's final-stage check: {tuned['why']})" if tuned and "why" in tuned else ")"
        print(f"final stage: {why}")
        return formula_head(), {"kept": False, "why": why}
    start = time.perf_counter()
    if part is None:
        part = fit_part(cfg, data, train, users, verbose)
    with stage("final stage", timings):
        model, record = learn_final_stage(part, cfg, data.description.liked_threshold, verbose=0)
        print(f"final stage: {record['why']}")
    timings["final-stage pass"] = round(time.perf_counter() - start, 2)
    return model, record


def settings_record(settings, dataset: str) -> dict:
    """What the manifest and the report say about where the settings came from."""
    if settings is None:
        return {
            "how": f"built-in defaults (no settings file for {dataset}; `make tune DATASET={dataset}` writes one)",
            "file": None,
        }
    chosen = settings.chosen
    how = f"{settings.path.name}, chosen by {chosen.get('by', 'an unknown method')}"
    return {"how": how, **settings.record()}


def validation_figures(chosen: dict) -> dict:
    """The validation figures behind the settings (training.choice.objective's four, for the chosen settings and
    for the ones they started from), from the settings file or the choice pass; {} for the built-in defaults."""
    record = chosen.get("choice_pass") or chosen.get("chosen") or {}
    keys = ("figures", "start_figures", "objective", "start_objective", "value", "start_value")
    return {key: record[key] for key in keys if key in record}


def print_summary(metrics: dict) -> None:
    print("\nretrieval          R@10    R@50    R@200   R@200 seen  R@200 unknown")
    for name, r in metrics["retrieval"].items():
        print(
            f"{name:<18} {r['recall@10']:.4f}  {r['recall@50']:.4f}  {r['recall@200']:.4f}  "
            f"{r['recall@200_seen_users']:.4f}      {r['recall@200_unknown_users']:.4f}"
        )
    print("final list         NDCG@10  P@10    NDCG seen  NDCG unknown")
    for name, r in metrics["final_list"].items():
        print(
            f"{name:<18} {r['ndcg@10']:.4f}   {r['precision@10']:.4f}  {r['ndcg@10_seen_users']:.4f}     "
            f"{r['ndcg@10_unknown_users']:.4f}"
        )
    print("rating             RMSE    MAE     RMSE seen  RMSE unknown")
    for name, r in metrics["rating"].items():
        print(
            f"{name:<18} {r['rmse']:.4f}  {r['mae']:.4f}  {r['rmse_seen_users']:.4f}     {r['rmse_unknown_users']:.4f}"
        )
    from movierec.evaluation.report import summary_lines  # static hit rates, streaming protocol, reference

    print("\n".join(summary_lines(metrics)))


def data_dirs(data_dir: Path | None) -> tuple[Path, Path]:
    """(raw, processed) folders under data_dir, or the project's data/ defaults."""
    return (data_dir / "raw", data_dir / "processed") if data_dir else (RAW_DIR, PROCESSED_DIR)


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before TensorFlow starts a thread (training.memory)
    from movierec.errors import MovieRecError

    try:
        args, cfg = parse_args(argv)
    except MovieRecError as exc:  # a bad settings file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from movierec.data.live import default_database_url, read_live

    try:  # live ratings come after the training cut-off: a held-out run fits on an earlier period without them
        live = None if cfg.holdout_fraction else read_live(args.database_url or default_database_url(args.data_dir))
        run(
            cfg,
            args.archive,
            args.output,
            *data_dirs(args.data_dir),
            verbose=0 if args.quiet else 1,
            live=live,
            dataset=args.dataset,
            settings=args.settings_file,
            choice_trials=args.choice_trials if args.settings_file is None else 0,
            size_scaled=args.size_scaled,
        )
    except MovieRecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
