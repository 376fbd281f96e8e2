"""Feature encoding fitted on the training period and shared by training, evaluation and serving."""
