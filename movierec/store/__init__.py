"""The live-ratings store: users created through the API and the ratings people give, in a real database."""

from movierec.store.store import LiveRating, RatingStore, StoredUser, StoreError, StoreUnavailable, default_url

__all__ = ["LiveRating", "RatingStore", "StoreError", "StoreUnavailable", "StoredUser", "default_url"]
