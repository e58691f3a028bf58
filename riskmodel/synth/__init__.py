"""Synthetic worlds with a latent organised-crime process (``riskmodel synth``).

The generated folder is a contract data set; the ground truth is written apart, in ``_truth/``, and is never read
by feature, training or scoring code. See ``docs/synth.md`` for the mechanisms and their sources.
"""

from riskmodel.synth.generate import TRUTH_DIR, generate
from riskmodel.synth.world import SynthConfig

__all__ = ["TRUTH_DIR", "SynthConfig", "generate"]
