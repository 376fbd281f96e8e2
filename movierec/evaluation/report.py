"""Readable evaluation report: a markdown table of model vs baselines and PNG plots, as bytes for the bundle."""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # the object API: no pyplot state, no global backend to set

from movierec.evaluation.streaming import FORMULA


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _axes(width: float, height: float):
    """A new figure of this size in inches and its one plot."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _fmt(value) -> str:
    return "n/a" if value != value else f"{value:.4f}"  # NaN check


FORMULA_LABEL = "two-stage list, formula order (the learned final stage's reference)"
REFERENCE = "Time to Split (Gusak et al., RecSys 2025, monkey0head/time-to-split)"
# SASRec on ML-1M, global time split at the 0.8 quantile (1,783 test users), as published in the paper
REFERENCE_FIGURES = {
    "static": {"HR@10": "0.65–0.70", "NDCG@10": "0.22–0.25", "HR@100": "≈ 0.91"},
    "streaming": {"HR@10": "0.19–0.23", "NDCG@10": "0.10–0.12", "HR@100": "not quoted"},
}
GROUPS = (("", "all"), ("_seen_users", "seen"), ("_unknown_users", "unknown"))


def _hit_columns(row: dict, k: int) -> str:
    """HR@10, NDCG@k and HR@100 for all, seen and unknown users, as table cells."""
    return " | ".join(
        f"{_fmt(row[f'hr@10{s}'])} | {_fmt(row[f'ndcg@{k}{s}'])} | {_fmt(row[f'hr@100{s}'])}" for s, _ in GROUPS
    )


def _hit_header(first: str, k: int, extra: str = "") -> list[str]:
    groups = " | ".join(f"HR@10 {g} | NDCG@{k} {g} | HR@100 {g}" for _, g in GROUPS)
    n = 1 + (1 if extra else 0) + 3 * len(GROUPS)
    return [f"| {first} |{f' {extra} |' if extra else ''} {groups} |", "|" + "---|" * n]


def static_lines(m: dict) -> list[str]:
    """The static protocol with every test movie relevant (hit rate, binary NDCG)."""
    k = m["counts"]["final_k"]
    lines = ["", "## Static protocol, every test movie relevant (hit rate and binary NDCG per test user)", ""]
    lines += [
        "Each test user's whole test period forecast once from the training period; HR@K = at least one test "
        "movie in the top K.",
        "",
    ]
    lines += _hit_header("list", k)
    names = {"two_tower": "retrieval order (two-tower)", "two_stage": "two-stage list", FORMULA: FORMULA_LABEL}
    for name, row in m["static"].items():
        lines.append(f"| {names.get(name, name)} | {_hit_columns(row, k)} |")
    return lines


def streaming_lines(m: dict) -> list[str]:
    """The streaming protocol table: every test rating forecast from everything its user rated before it."""
    st = m["streaming"]
    sample = st["two_stage_events"]
    how = (
        "every event"
        if sample["kind"] == "all"
        else f"a fixed sample of {sample['events']:,} events, seed {sample['seed']}"
    )
    lines = ["", "## Streaming protocol (each test rating forecast from everything its user rated before it)", ""]
    lines += [
        f"{st['events']['all']:,} test ratings in chronological order ({st['events']['unknown_users']:,} by users "
        "without training ratings). Each is predicted from the user's training ratings and earlier test ratings "
        "(never itself or later ones); every movie the user rated before it is excluded; one relevant movie, "
        "NDCG@10 = 1/log2(rank + 2) in the top 10. HR and NDCG averaged over rating events. "
        f"The two-stage list (retrieve {st['retrieve_k']}, rank) runs on {how}; retrieval and popularity "
        "(training-period counts) are shown on all events and on the same sample." + _live_note(st),
        "",
    ]
    lines += _hit_header("list", 10, "events")
    labels = {
        "retrieval": "retrieval order (two-tower)",
        "two_stage": "two-stage list",
        FORMULA: FORMULA_LABEL,
        "popularity_all": "popularity",
    }
    places = {"all_events": "all events", "sample_events": "sample"}
    for table, rows in _streaming_tables(st):
        where = places.get(table) or f"sample, rated {st['liked_threshold']:g}+"
        for name, row in rows.items():
            lines.append(f"| {labels.get(name, name)}, {where} | {row['events']:,} | {_hit_columns(row, 10)} |")
    if st.get("liked_sample_events"):
        lines += [
            "",
            f"The last rows keep the sampled events whose rating was {st['liked_threshold']:g} or more. Every "
            "event counts as relevant above, a movie rated low included: the two-stage list also ranks by how much "
            "the user will like a movie, so it moves such movies down, which costs it there and not on these rows.",
        ]
    if "seconds" in st:
        lines += ["", f"Streaming evaluation time: {st['seconds']:.1f} s."]
    return lines


def _streaming_tables(st: dict) -> list[tuple[str, dict]]:
    """(table, rows) of the streaming metrics in report order: every event; the sample (its two-stage row alone when
    the sample is every event, the other rows being the all-events ones); the sample's liked events (absent from
    reports written before they were measured)."""
    sample = st["sample_events"]
    tables = [
        ("all_events", st["all_events"]),
        (
            "sample_events",
            sample
            if st["two_stage_events"]["kind"] == "sample"
            else {name: sample[name] for name in ("two_stage", FORMULA) if name in sample},
        ),
    ]
    if st.get("liked_sample_events"):
        tables.append(("liked_sample_events", st["liked_sample_events"]))
    return tables


def _live_note(st: dict) -> str:
    """How retrieval weighed the sequence branch for events after the user's first test rating (live ratings)."""
    if st.get("live_weight") is None:
        return ""
    return (
        f" Retrieval scores the {st['events'].get('after_test_ratings', 0):,} events whose history holds earlier "
        f"test ratings (live ratings, as serving sees them) with the sequence branch's live weight "
        f"{st['live_weight']:g}, the others and the static protocol with the trained weight."
    )


EVERY_METHOD_COLUMNS = (
    "static R@200",
    "static NDCG@10 (>= liked)",
    "static HR@10",
    "static NDCG@10",
    "static HR@100",
    "streaming HR@10",
    "streaming NDCG@10",
    "streaming HR@100",
)


def every_method_rows(m: dict) -> list[tuple[str, list[float]]]:
    """Our two lists and every peer method on one row each, EVERY_METHOD_COLUMNS wide: the static protocol, then the
    streaming protocol on the events the two-stage list is scored on (the peers are evaluated on the same ones)."""
    k = m["counts"]["final_k"]
    sample = m["streaming"]["sample_events"] if "streaming" in m else {}

    def row(recall: dict, final: dict | None, hits: dict, streaming: dict | None) -> list[float]:
        nan = float("nan")
        return [
            recall["recall@200"],
            final[f"ndcg@{k}"] if final else nan,
            hits["hr@10"],
            hits[f"ndcg@{k}"],
            hits["hr@100"],
            *((streaming["hr@10"], streaming["ndcg@10"], streaming["hr@100"]) if streaming else (nan, nan, nan)),
        ]

    rows = []
    if "static" in m:
        retrieval, final = m["retrieval"]["two_tower"], m["final_list"]
        rows.append(
            ("two-stage list", row(retrieval, final["two_stage"], m["static"]["two_stage"], sample.get("two_stage")))
        )
        rows.append(
            (
                "two-tower retrieval order",
                row(retrieval, final.get("retrieval_only"), m["static"]["two_tower"], sample.get("retrieval")),
            )
        )
    for name, r in m.get("peers", {}).get("methods", {}).items():
        st = r["static"]
        rows.append((name, row(st["retrieval"], st["final_list"], st["hits"], r["streaming"])))
    return rows


def _events_note(m: dict) -> str:
    sample = m["streaming"]["two_stage_events"]
    if sample["kind"] == "all":
        return "streaming on every test event"
    return f"streaming on a fixed sample of {sample['events']:,} test events, seed {sample['seed']}"


def every_method_lines(m: dict) -> list[str]:
    """every_method_rows as a plain-text table (printed by train and evaluate)."""
    short = ("R@200", "NDCG+", "HR@10", "NDCG@10", "HR@100", "HR@10", "NDCG@10", "HR@100")
    lines = [
        f"every method ({_events_note(m)}; NDCG+: ratings >= liked relevant)",
        f"{'':<27}|{'static':^46}|{'streaming':^26}",
        f"{'method':<27}|" + "".join(f"{h:>9}" for h in short[:5]) + " |" + "".join(f"{h:>8}" for h in short[5:]),
    ]
    for label, values in every_method_rows(m):
        cells = [f"{v:>9.4f}" if v == v else f"{'-':>9}" for v in values[:5]]
        cells += [" |"] + [f"{v:>8.4f}" if v == v else f"{'-':>8}" for v in values[5:]]
        lines.append(f"{label:<27}|" + "".join(cells))
    return lines


def every_method_markdown(m: dict) -> list[str]:
    """every_method_rows as the report's table of every method."""
    lines = ["", "## Every method on this split (ours and the peers' methods)", ""]
    lines += [
        "The same training period, test users, metrics and streaming events for every method. Static: R@200 and "
        "HR/NDCG with every test movie relevant, NDCG@10 (>= liked) with ratings at or above the dataset's liked "
        f"threshold relevant; {_events_note(m)}. The peers rank by their own score (one stage).",
        "",
        "| method | " + " | ".join(EVERY_METHOD_COLUMNS) + " |",
        "|---|" + "---|" * len(EVERY_METHOD_COLUMNS),
    ]
    for label, values in every_method_rows(m):
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in values) + " |")
    return lines


def has_reference(m: dict) -> bool:
    """The published figures are for MovieLens-1M (metrics without a dataset name were all ML-1M runs)."""
    return m.get("dataset", "ml-1m") == "ml-1m"


def reference_lines(m: dict) -> list[str]:
    """Published figures for the same split next to ours (quoted, not reproduced here)."""
    k = m["counts"]["final_k"]
    stream = m["streaming"]
    columns = {  # each of our lists: its row under each protocol
        "two-stage": {"static": m["static"]["two_stage"], "streaming": stream["sample_events"]["two_stage"]},
        "retrieval order": {"static": m["static"]["two_tower"], "streaming": stream["all_events"]["retrieval"]},
        "popularity": {"static": m["static"]["popularity_all"], "streaming": stream["all_events"]["popularity_all"]},
    }
    keys = {"HR@10": "hr@10", "NDCG@10": "ndcg@10", "HR@100": "hr@100"}
    lines = ["", f"## Reference: {REFERENCE}", ""]
    lines += [
        "SASRec on ML-1M with the same global time split (0.8 quantile, 1,783 test users), figures as published "
        "in the paper, not reproduced here: its filtering and relevance definitions may differ from ours, so compare "
        "with our popularity column too. Ours from this run: streaming two-stage on the sample above, streaming "
        "retrieval order and popularity on all events; static NDCG with every test movie relevant.",
        "",
        "| protocol | metric | SASRec (Time to Split) | " + " | ".join(f"ours, {c}" for c in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for protocol, figures in REFERENCE_FIGURES.items():
        for metric, published in figures.items():
            key = keys[metric] if metric != "NDCG@10" or protocol == "streaming" else f"ndcg@{k}"
            ours = " | ".join(_fmt(rows[protocol][key]) for rows in columns.values())
            lines.append(f"| {protocol} | {metric} | {published} | {ours} |")
    return lines


def render_plots(result: dict) -> dict[str, bytes]:
    curves, metrics = result["curves"], result["metrics"]
    plots = {}
    fig, ax = _axes(7, 4.5)
    for name in metrics["retrieval"]:
        for suffix, style in (("", "-"), ("_unknown_users", ":")):
            curve = curves[name + suffix]
            ax.plot(range(1, len(curve) + 1), curve, style, label=f"{name}{suffix.replace('_', ' ')}")
    ax.set_xlabel("K"), ax.set_ylabel("Recall@K"), ax.set_title("Retrieval Recall@K on the test split")
    ax.grid(alpha=0.3), ax.legend(fontsize=8)
    plots["plots/recall_at_k.png"] = _png(fig)

    fig, ax = _axes(7, 4)
    groups = ("rmse", "rmse_seen_users", "rmse_unknown_users")
    names = list(metrics["rating"])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(
            [g + i * width for g in range(len(groups))], [metrics["rating"][name][g] for g in groups], width, label=name
        )
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], ["all users", "seen users", "unknown users"])
    ax.set_ylabel("RMSE"), ax.set_title("Rating RMSE by user group (lower is better)"), ax.legend()
    ax.set_ylim(0.7, None)
    plots["plots/rmse_by_group.png"] = _png(fig)

    dist = result["distributions"]
    fig, ax = _axes(7, 4)
    stars = dist.get("values") or list(range(1, len(dist["true"]) + 1))  # the scale's ratings (whole stars before)
    width = (stars[1] - stars[0] if len(stars) > 1 else 1.0) * 0.4
    for offset, key, label in ((-0.5, "true", "true ratings"), (0.5, "predicted_rounded", "predicted, rounded")):
        total = sum(dist[key]) or 1
        ax.bar([s + offset * width for s in stars], [c / total for c in dist[key]], width, label=label)
    ax.set_xlabel("rating (stars)"), ax.set_ylabel("share of test ratings")
    ax.set_title("Rating distribution: predicted vs true"), ax.legend()
    plots["plots/rating_distribution.png"] = _png(fig)
    return plots


def render_markdown(result: dict, extra: dict | None = None) -> str:
    m = result["metrics"]
    c = m["counts"]
    lines = ["# Evaluation report", ""]
    holdout = m.get("holdout_fraction") or 0.0
    judged = (
        f"Held-out period (the training period's last {holdout:.0%}, fitted on the part before it; the test split "
        "was not read)"
        if holdout
        else "Chronological test split"
    )
    lines += [
        f"{judged}: {c['test_ratings']:,} ratings from {c['test_users']:,} users "
        f"({c['test_users_unknown']:,} unknown in train, holding {c['test_ratings_unknown_users']:,} ratings).",
        "",
    ]
    lines += ["## Retrieval (whole catalogue, movies rated in train excluded, all test movies relevant)", ""]
    lines += ["| model | R@10 | R@50 | R@200 | R@200 seen users | R@200 unknown users |", "|---|---|---|---|---|---|"]
    for name, r in m["retrieval"].items():
        lines.append(
            f"| {name} | {_fmt(r['recall@10'])} | {_fmt(r['recall@50'])} | {_fmt(r['recall@200'])} | "
            f"{_fmt(r['recall@200_seen_users'])} | {_fmt(r['recall@200_unknown_users'])} |"
        )
    k = c["final_k"]
    liked = c.get("liked_threshold", 4)  # reports written before the threshold was recorded: MovieLens-1M's
    lines += [
        "",
        f"## Final list (retrieve {c['retrieve_k']}, rank, keep {k}; relevant = test rating >= {liked:g})",
        "",
    ]
    lines += [f"| list | NDCG@{k} | Precision@{k} | NDCG@{k} seen | NDCG@{k} unknown |", "|---|---|---|---|---|"]
    for name, r in m["final_list"].items():
        lines.append(
            f"| {name} | {_fmt(r[f'ndcg@{k}'])} | {_fmt(r[f'precision@{k}'])} | "
            f"{_fmt(r[f'ndcg@{k}_seen_users'])} | {_fmt(r[f'ndcg@{k}_unknown_users'])} |"
        )
    if "static" in m:
        lines += static_lines(m)
    if "streaming" in m:
        lines += streaming_lines(m)
        if "peers" in m:
            lines += every_method_markdown(m)
        if has_reference(m):
            lines += reference_lines(m)
    lines += ["", "## Rating prediction (all test ratings)", ""]
    lines += ["| model | RMSE | MAE | RMSE seen users | RMSE unknown users |", "|---|---|---|---|---|"]
    for name, r in m["rating"].items():
        lines.append(
            f"| {name} | {_fmt(r['rmse'])} | {_fmt(r['mae'])} | {_fmt(r['rmse_seen_users'])} | "
            f"{_fmt(r['rmse_unknown_users'])} |"
        )
    if extra:
        lines += ["", "## Run", ""] + [f"- {key}: {value}" for key, value in extra.items()]
    lines += [
        "",
        "![Recall@K](plots/recall_at_k.png)",
        "",
        "![RMSE by group](plots/rmse_by_group.png)",
        "",
        "![Rating distribution](plots/rating_distribution.png)",
        "",
    ]
    return "\n".join(lines)


def report_files(result: dict, extra: dict | None = None) -> dict[str, bytes]:
    """report.md, curves.json and the PNG plots, keyed by their path inside the bundle."""
    import json

    files = render_plots(result)
    files["report.md"] = render_markdown(result, extra).encode()
    files["curves.json"] = json.dumps(result["curves"]).encode()
    return files


def summary_lines(metrics: dict) -> list[str]:
    """Plain-text static hit-rate and streaming tables plus the reference figures (printed by train/evaluate)."""
    lines = []
    head = f"{'':<36} {'HR@10':>6}  {'NDCG@10':>7}  {'HR@100':>6}  {'HR@10 seen':>10}  {'HR@10 unknown':>13}"

    def row(label: str, r: dict) -> str:
        return (
            f"{label:<36} {r['hr@10']:>6.4f}  {r['ndcg@10']:>7.4f}  {r['hr@100']:>6.4f}  "
            f"{r['hr@10_seen_users']:>10.4f}  {r['hr@10_unknown_users']:>13.4f}"
        )

    if "static" in metrics:
        lines += ["static, every test movie relevant" + head[len("static, every test movie relevant") :]]
        lines += [row(name, r) for name, r in metrics["static"].items()]
    if "streaming" in metrics:
        st = metrics["streaming"]
        sample = st["two_stage_events"]
        how = "all" if sample["kind"] == "all" else f"sample of {sample['events']:,}, seed {sample['seed']}"
        live = "" if st.get("live_weight") is None else f"; live weight {st['live_weight']:g}"
        lines += [f"streaming ({st['events']['all']:,} events; two-stage on {how}{live}; {st.get('seconds', 0):.1f}s)"]
        lines += [head]
        places = {"all_events": "all", "sample_events": "sample"}
        for table, rows in _streaming_tables(st):
            where = places.get(table) or f"sample rated {st['liked_threshold']:g}+"
            lines += [row(f"{name}, {where}", r) for name, r in rows.items()]
        ref = REFERENCE_FIGURES
        if has_reference(metrics):
            lines += [
                f"reference, SASRec in {REFERENCE}: "
                + "; ".join(f"{p} " + ", ".join(f"{k} {v}" for k, v in ref[p].items()) for p in ref)
            ]
        else:
            lines += [f"no published reference for {metrics['dataset']} (the Time to Split figures are for ml-1m)"]
    if "peers" in metrics and "static" in metrics:
        lines += every_method_lines(metrics)
    return lines
