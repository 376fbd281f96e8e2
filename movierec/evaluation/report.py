"""Readable evaluation report: a markdown table of model vs baselines and PNG plots, as bytes for the bundle."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _fmt(value) -> str:
    return "n/a" if value != value else f"{value:.4f}"  # NaN check


def render_plots(result: dict) -> dict[str, bytes]:
    curves, metrics = result["curves"], result["metrics"]
    plots = {}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in metrics["retrieval"]:
        for suffix, style in (("", "-"), ("_unknown_users", ":")):
            curve = curves[name + suffix]
            ax.plot(range(1, len(curve) + 1), curve, style, label=f"{name}{suffix.replace('_', ' ')}")
    ax.set_xlabel("K"), ax.set_ylabel("Recall@K"), ax.set_title("Retrieval Recall@K on the test split")
    ax.grid(alpha=0.3), ax.legend(fontsize=8)
    plots["plots/recall_at_k.png"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
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
    fig, ax = plt.subplots(figsize=(7, 4))
    stars = range(1, 6)
    for offset, key, label in ((-0.2, "true", "true ratings"), (0.2, "predicted_rounded", "predicted, rounded")):
        total = sum(dist[key]) or 1
        ax.bar([s + offset for s in stars], [c / total for c in dist[key]], 0.4, label=label)
    ax.set_xlabel("rating (stars)"), ax.set_ylabel("share of test ratings")
    ax.set_title("Rating distribution: predicted vs true"), ax.legend()
    plots["plots/rating_distribution.png"] = _png(fig)
    return plots


def render_markdown(result: dict, extra: dict | None = None) -> str:
    m = result["metrics"]
    c = m["counts"]
    lines = ["# Evaluation report", ""]
    lines += [
        f"Chronological test split: {c['test_ratings']:,} ratings from {c['test_users']:,} users "
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
    lines += ["", f"## Final list (retrieve {c['retrieve_k']}, rank, keep {k}; relevant = test rating >= 4)", ""]
    lines += [f"| list | NDCG@{k} | Precision@{k} | NDCG@{k} seen | NDCG@{k} unknown |", "|---|---|---|---|---|"]
    for name, r in m["final_list"].items():
        lines.append(
            f"| {name} | {_fmt(r[f'ndcg@{k}'])} | {_fmt(r[f'precision@{k}'])} | "
            f"{_fmt(r[f'ndcg@{k}_seen_users'])} | {_fmt(r[f'ndcg@{k}_unknown_users'])} |"
        )
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
