"""Training entry points: data preparation, model fitting, evaluation and export (CLI layer over movierec)."""
