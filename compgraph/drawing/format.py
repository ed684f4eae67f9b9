"""The one number formatter of every picture: scalars, arrays and shapes as short text.

Every number a rendering shows goes through :func:`format_value`, so the same value is
written the same way on every node, edge and legend, and DOT output stays byte-for-byte
deterministic (no ``repr`` of floats, no locale).

>>> format_value(224.0), format_value(-0.0), format_value(2/3), format_value(-1.5)
('224', '0', '0.6667', '−1.5')
>>> format_value(float("nan")), format_value(float("inf")), format_value(-float("inf"))
('NaN', '∞', '−∞')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MINUS = "−"  # U+2212: typeset minus, as on a slide (the operator labels use it too)
TIMES = "×"
SIGNIFICANT = 4
SMALL_ARRAY = 6  # arrays with at most this many elements also show their values
TOOLTIP_VALUES = 64  # tooltips show the full values of any array a slide would hold

# Integers this small are shown exactly (a gradient of 12345 reads better than 1.234e4).
_EXACT_INTEGERS_BELOW = 1e6


def format_number(x: float) -> str:
    """One scalar with 4 significant digits; ``-0`` is ``0``; non-finite as ``NaN``, ``∞``, ``−∞``.

    >>> [format_number(v) for v in (0.5, 1e-7, 123456.0, 1234567.0, 3.14159, -2.0)]
    ['0.5', '1e−7', '123456', '1.235e6', '3.142', '−2']
    """
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    if x == 0:
        return "0"  # also turns -0.0 into 0
    if x.is_integer() and abs(x) < _EXACT_INTEGERS_BELOW:
        text = str(int(x))
    else:
        text = f"{x:.{SIGNIFICANT}g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
    if text.lstrip("-") in ("0", "0.0"):  # a tiny negative rounded to zero
        return "0"
    return text.replace("-", MINUS)


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of a value: ``()`` for a scalar."""
    return tuple(np.shape(value))


def format_shape(shape: tuple[int, ...]) -> str:
    """``(3, 2)`` as ``3×2``; a vector ``(3,)`` as ``3``; a scalar as ``""``.

    >>> format_shape((3, 2)), format_shape((3,)), format_shape(())
    ('3×2', '3', '')
    """
    return TIMES.join(str(n) for n in shape)


def _nested(a: np.ndarray) -> str:
    if a.ndim == 0:
        return format_number(float(a))
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def format_value(value: Any, values_up_to: int = SMALL_ARRAY, shape: bool = True) -> str:
    """A scalar as a number; an array as its shape, with its values when it is small.

    ``values_up_to`` is the largest array whose values are written; ``shape=False`` drops
    the shape in front of the values (a short array's values already tell it), so a larger
    array is then its shape alone. One formatter for every place: numbers on wires and
    beside nodes, tooltips (``TOOLTIP_VALUES``); grids write each entry with
    :func:`format_number`.

    >>> format_value(np.array([[1.0, 2.0], [3.0, -0.0]]))
    '2×2 [[1, 2], [3, 0]]'
    >>> format_value(np.zeros((3, 4)))
    '3×4'
    >>> format_value(np.array([0.0, 13.35, 0.0]), 3, shape=False)
    '[0, 13.35, 0]'
    >>> format_value(np.ones((3, 2)), 3, shape=False)
    '3×2'
    >>> format_value(np.float64(7.0)), format_value(np.array(5.0)), format_value(True)
    ('7', '5', '1')
    """
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.size > values_up_to:
            return format_shape(value.shape)
        if not shape:
            return _nested(value)
        return format_shape(value.shape) + " " + _nested(value)
    return format_number(float(value))


def is_array(value: Any) -> bool:
    """Whether a value is a (non-scalar) array."""
    return isinstance(value, np.ndarray) and value.ndim > 0
