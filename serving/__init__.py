"""FastAPI service over a trained bundle: two-stage recommendations, scores, catalogue lookups, metrics."""
