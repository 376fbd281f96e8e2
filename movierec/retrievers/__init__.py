"""Retrieval methods behind one interface (movierec.retrievers.base.Retriever), by name."""

from __future__ import annotations

from movierec.retrievers.base import LOWEST, Retriever
from movierec.retrievers.bias import BiasRetriever
from movierec.retrievers.ease import EASERetriever
from movierec.retrievers.history import History, histories_of
from movierec.retrievers.item_knn import ItemKNNRetriever
from movierec.retrievers.mf import MFRetriever
from movierec.retrievers.popularity import PopularityRetriever
from movierec.retrievers.transitions import TransitionRetriever
from movierec.retrievers.user_knn import UserKNNRetriever

RETRIEVERS: dict[str, type[Retriever]] = {
    cls.name: cls
    for cls in (
        PopularityRetriever,
        BiasRetriever,
        ItemKNNRetriever,
        UserKNNRetriever,
        MFRetriever,
        EASERetriever,
        TransitionRetriever,
    )
}


def make_retriever(name: str) -> Retriever:
    """A new, unfitted retriever with its default settings; ValueError naming the known methods otherwise."""
    if name not in RETRIEVERS:
        raise ValueError(f"unknown retriever {name!r}; known: {', '.join(RETRIEVERS)}")
    return RETRIEVERS[name]()


__all__ = ["LOWEST", "RETRIEVERS", "History", "Retriever", "histories_of", "make_retriever"]
