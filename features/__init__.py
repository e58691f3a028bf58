"""Feature pipelines of riskmodel: one module per data source, each feature a named, catalogued function.

The feature families arrive with the feature-pipeline work; this package is installed together with ``riskmodel``
so that ``import features`` always resolves to this project (see ``tests/code/test_layout.py``).
"""

#: Marks this package as riskmodel's own ``features`` (another distribution could ship a top-level ``features``).
PROJECT = "riskmodel"

__all__ = ["PROJECT"]
