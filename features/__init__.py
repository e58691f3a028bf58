"""Feature pipelines of riskmodel: one module per data source, each feature a named, catalogued function.

``features.build(dataset, as_of)`` returns one row per business with only what was known at ``as_of``
(see :mod:`features.pit`); :data:`features.CATALOGUE` holds every feature's source, rationale, reference,
expected direction and the reason text officers read.
"""

from features.build import FAMILIES, build, build_view, load_families
from features.catalogue import CATALOGUE, FEATURE_SETS, FeatureSpec, catalogue_version, feature, feature_set
from features.pit import AsOf

#: Marks this package as riskmodel's own ``features`` (another distribution could ship a top-level ``features``).
PROJECT = "riskmodel"

__all__ = ["CATALOGUE", "FAMILIES", "FEATURE_SETS", "PROJECT", "AsOf", "FeatureSpec", "build", "build_view",
           "catalogue_version",
           "feature",
           "feature_set", "load_families"]
