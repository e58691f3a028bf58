"""Training: point-in-time labels, positive-unlabelled strategies, LightGBM pipeline, calibration, MLflow tracking."""

__all__: list[str] = []
