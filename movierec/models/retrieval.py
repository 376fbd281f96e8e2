"""Two-tower retrieval model trained with a temperature softmax over the whole movie catalogue."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from movierec.features.space import MOVIE_KEYS


@keras.saving.register_keras_serializable(package="movierec")
class RetrievalModel(keras.Model):
    """Scores a batch of users against every catalogue movie: (user_vec @ movie_vecs.T) / temperature.

    The catalogue's movie-tower inputs live in non-trainable variables, so the model is self-contained
    when saved; the two towers remain separately usable (and are exported on their own).
    """

    def __init__(
        self,
        user_tower,
        movie_tower,
        n_catalog: int,
        n_genres: int,
        n_movie_numeric: int,
        temperature: float = 0.05,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.user_tower = user_tower
        self.movie_tower = movie_tower
        self.n_catalog, self.n_genres, self.n_movie_numeric = int(n_catalog), int(n_genres), int(n_movie_numeric)
        self.temperature = float(temperature)
        self.catalog_movie_id = self.add_weight(
            shape=(self.n_catalog,), dtype="int32", initializer="zeros", trainable=False, name="catalog_movie_id"
        )
        self.catalog_genres = self.add_weight(
            shape=(self.n_catalog, self.n_genres), initializer="zeros", trainable=False, name="catalog_genres"
        )
        self.catalog_numeric = self.add_weight(
            shape=(self.n_catalog, self.n_movie_numeric), initializer="zeros", trainable=False, name="catalog_numeric"
        )

    def set_catalog(self, movie_inputs: dict[str, np.ndarray]) -> None:
        """Load the catalogue's movie-tower inputs (rows in catalogue order)."""
        self.catalog_movie_id.assign(movie_inputs["movie_id"].astype("int32"))
        self.catalog_genres.assign(movie_inputs["genres"].astype("float32"))
        self.catalog_numeric.assign(movie_inputs["movie_numeric"].astype("float32"))

    def catalog_vectors(self, training=False):
        catalog = dict(zip(MOVIE_KEYS, (self.catalog_movie_id, self.catalog_genres, self.catalog_numeric), strict=True))
        return self.movie_tower(catalog, training=training)

    def call(self, inputs, training=False):
        wanted = self.user_tower.input  # the feature space builds every user input; each tower reads its own
        users = self.user_tower({key: inputs[key] for key in wanted}, training=training)
        movies = self.catalog_vectors(training=training)
        return ops.matmul(users, ops.transpose(movies)) / self.temperature

    def get_config(self):
        return {
            **super().get_config(),
            "user_tower": keras.saving.serialize_keras_object(self.user_tower),
            "movie_tower": keras.saving.serialize_keras_object(self.movie_tower),
            "n_catalog": self.n_catalog,
            "n_genres": self.n_genres,
            "n_movie_numeric": self.n_movie_numeric,
            "temperature": self.temperature,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["user_tower"] = keras.saving.deserialize_keras_object(config["user_tower"])
        config["movie_tower"] = keras.saving.deserialize_keras_object(config["movie_tower"])
        return cls(**config)
