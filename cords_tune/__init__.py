"""cords-tune: hyperparameter tuning on adaptively selected data subsets, with Ray Tune."""

__version__ = "0.1.0"
