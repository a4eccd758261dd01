"""Reference solutions of notebook 10's exercises (10_efficiency_answer)."""


def csr_breakeven(rows, cols, value_bytes, index_bytes):
    """Exercise 1: solve kept * (value + index) + (rows + 1) * index = dense bytes."""
    dense = rows * cols * value_bytes
    kept = (dense - (rows + 1) * index_bytes) / (value_bytes + index_bytes)
    return 1 - kept / (rows * cols)


def block_macs(T, d, m):
    """Exercise 2: projections 4Td², attention 2T²d, MLP 2Tdm."""
    return 4 * T * d * d + 2 * T * T * d + 2 * T * d * m
