"""movierec: the shared core of the two-stage MovieLens recommender (data, features, models, bundle, recommender)."""

__version__ = "0.1.0"
