"""The recommender as served and evaluated: user contexts, the catalogue, the two stages, explanations."""

from movierec.recommender.catalogue import Catalogue
from movierec.recommender.context import UserContext, UserContexts
from movierec.recommender.pipeline import TWO_STAGE, Recommendation, Recommender

__all__ = ["TWO_STAGE", "Catalogue", "Recommendation", "Recommender", "UserContext", "UserContexts"]
