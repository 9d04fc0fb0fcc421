"""A tiny module with a bug for the `warden run` demo (see README.md)."""


def add(a: int, b: int) -> int:
    """Returns the sum of a and b."""
    return a - b


def mean(values: list[float]) -> float:
    """Returns the arithmetic mean of values (which must not be empty)."""
    return sum(values) / len(values)
