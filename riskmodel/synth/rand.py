"""Deterministic randomness for the synthetic world.

Two kinds: per-chunk generators (``chunk_rng``) for everything local to a chunk of businesses, and counter-based
hashes (``hash_uniform``) for attributes of entities that several chunks refer to (crime groups, serial
directors, formation agents), so that every chunk derives the same attributes without sharing state.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

__all__ = ["chunk_rng", "hash_choice", "hash_hex", "hash_uniform", "quantile_sampler", "stream_id"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def stream_id(name: str) -> int:
    """Stable 32-bit id of a named random stream (independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


def chunk_rng(seed: int, chunk: int, stream: str) -> np.random.Generator:
    """Return the generator of one chunk and stream: the same (seed, chunk, stream) always gives the same draws."""
    return np.random.default_rng([seed, chunk, stream_id(stream)])


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def _hash(seed: int, stream: str, ids: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    base = _splitmix64(np.array([(seed << 32) ^ stream_id(stream)], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        return _splitmix64(np.asarray(ids, dtype=np.uint64) ^ base)


def hash_uniform(seed: int, stream: str, ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform [0, 1) values that depend only on (seed, stream, id)."""
    return (_hash(seed, stream, ids) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hash_choice(seed: int, stream: str, ids: npt.ArrayLike, weights: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into ``weights`` drawn per id, deterministically."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cdf / cdf[-1], hash_uniform(seed, stream, ids), side="right").astype(np.int64)


def hash_hex(seed: int, stream: str, ids: npt.ArrayLike, digits: int = 10) -> npt.NDArray[np.str_]:
    """Opaque identifiers: nothing in an id reveals what kind of entity it belongs to."""
    h = _hash(seed, stream, np.atleast_1d(np.asarray(ids))) >> np.uint64(64 - 4 * digits)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = ((h[:, None] >> shifts) & np.uint64(0xF)).astype(np.intp)
    chars = np.frombuffer(b"0123456789ABCDEF", dtype="S1")[nibbles]
    return np.ascontiguousarray(chars).view(f"S{digits}").ravel().astype(str)


def quantile_sampler(probs: Sequence[float], values: Sequence[float]) -> QuantileSampler:
    """Build a sampler whose quantiles match ``values`` at ``probs`` (see :class:`QuantileSampler`)."""
    return QuantileSampler(np.asarray(probs, dtype=float), np.asarray(values, dtype=float))


class QuantileSampler:
    """Inverse-CDF sampler interpolating measured quantiles in signed-log space (money spans many decades).

    Parameters
    ----------
    probs, values : arrays
        Increasing probabilities in [0, 1] and the values at them (e.g. real q0, q10, ..., q99, q100).
    """

    def __init__(self, probs: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> None:
        self.probs = probs
        self.values = values
        self._t = np.sign(values) * np.log1p(np.abs(values))

    def from_uniform(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Values at probabilities ``u``."""
        t = np.interp(u, self.probs, self._t)
        return np.sign(t) * np.expm1(np.abs(t))

    def from_normal(self, z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Values at standard-normal scores ``z`` (a Gaussian copula keeps correlations between variables)."""
        from scipy.special import ndtr

        return self.from_uniform(ndtr(z))


def normal_from_uniform(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Standard-normal scores of uniforms."""
    return np.asarray(ndtri(np.clip(u, 1e-12, 1 - 1e-12)), dtype=np.float64)
