"""Reference solutions of notebook 05's exercises (05_l1_regularization)."""


def sparsity_below(counts, edges, threshold):
    """Exercise 1: the fraction of weights below a threshold, from a histogram."""
    below = 0.0
    for count, low, high in zip(counts, edges[:-1], edges[1:]):
        if high <= threshold:
            below += count  # the whole bin lies below
        elif low < threshold:
            below += count * (threshold - low) / (high - low)  # part of it, evenly spread
    return below / sum(counts)


def soft_threshold(w, t):
    """Exercise 2: every weight moved toward zero by t, stopping at zero."""
    return w.sign() * (w.abs() - t).clamp(min=0)


def balancing_lambda(weights, loss):
    """Exercise 3: the lambda with lambda * sum |w| equal to the loss."""
    return loss / sum(float(w.abs().sum()) for w in weights)
