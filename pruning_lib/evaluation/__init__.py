"""Layer 2: the paper's six tasks on any Hugging Face causal LM, as lm-evaluation-harness 0.4
defines them: the hub datasets or local files in their schemas (``data``), the prompt and
record of each task (``tasks``), and log-likelihood, greedy generation and the metrics
(``evaluate``). Imports the library only; the study builds on it. See ``docs/design.md``.
"""
