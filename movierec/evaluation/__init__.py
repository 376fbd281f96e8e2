"""Offline evaluation on the chronological test split: metrics, baselines, the full report."""
