"""Reference solutions of notebook 08's exercises (08_efficiency)."""


def bitmask_bytes(numel, nonzero, element_size):
    """Exercise 1: one bit per weight (rounded up to bytes) plus each non-zero's bytes."""
    return (numel + 7) // 8 + nonzero * element_size


def sparsity_for_size(ratio, bits):
    """Exercise 2: solve 1/bits + (1 - s) = ratio for s."""
    return 1 + 1 / bits - ratio


def matmul_macs(shapes, tokens):
    """Exercise 3: a dense kernel multiplies every stored number, zero or not."""
    return sum(tokens * out * inputs for out, inputs in shapes)
