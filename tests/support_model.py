"""Settings shared by the model-layer tests: a fast experiment for tiny worlds."""

FAST = ["data.history_snapshots=1", "model.n_estimators=60", "model.early_stopping_rounds=10"]
