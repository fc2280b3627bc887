"""XXH64, which the buildpack lifecycle uses to name a buildpack's directories from its key."""

from __future__ import annotations

__all__ = ["key_hash", "xxh64"]

_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261
_MASK = (1 << 64) - 1


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _MASK
    return (_rotl(acc, 31) * _P1) & _MASK


def _merge(acc: int, value: int) -> int:
    acc ^= _round(0, value)
    return (acc * _P1 + _P4) & _MASK


def xxh64(data: bytes, seed: int = 0) -> int:
    length = len(data)
    index = 0
    if length >= 32:
        v1 = (seed + _P1 + _P2) & _MASK
        v2 = (seed + _P2) & _MASK
        v3 = seed & _MASK
        v4 = (seed - _P1) & _MASK
        while index + 32 <= length:
            v1 = _round(v1, int.from_bytes(data[index : index + 8], "little"))
            v2 = _round(v2, int.from_bytes(data[index + 8 : index + 16], "little"))
            v3 = _round(v3, int.from_bytes(data[index + 16 : index + 24], "little"))
            v4 = _round(v4, int.from_bytes(data[index + 24 : index + 32], "little"))
            index += 32
        acc = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _MASK
        for v in (v1, v2, v3, v4):
            acc = _merge(acc, v)
    else:
        acc = (seed + _P5) & _MASK
    acc = (acc + length) & _MASK
    while index + 8 <= length:
        acc ^= _round(0, int.from_bytes(data[index : index + 8], "little"))
        acc = (_rotl(acc, 27) * _P1 + _P4) & _MASK
        index += 8
    if index + 4 <= length:
        acc ^= (int.from_bytes(data[index : index + 4], "little") * _P1) & _MASK
        acc = (_rotl(acc, 23) * _P2 + _P3) & _MASK
        index += 4
    while index < length:
        acc ^= (data[index] * _P5) & _MASK
        acc = (_rotl(acc, 11) * _P1) & _MASK
        index += 1
    acc ^= acc >> 33
    acc = (acc * _P2) & _MASK
    acc ^= acc >> 29
    acc = (acc * _P3) & _MASK
    acc ^= acc >> 32
    return acc


def key_hash(key: str) -> str:
    """A buildpack key as the lifecycle names its directories: 16 lowercase hex digits."""
    return f"{xxh64(key.encode()):016x}"
