"""The experiments behind the notebooks, each cached by the hash of its configuration.

A notebook builds an :class:`Experiment` from its parameters and asks it for results:
the dense baseline, one-shot pruning, fine-tuning after pruning, iterative pruning,
schedules, L1. Each result (scores, loss history, sparsity) is stored as JSON under
``<cache>/results/<kind>-<hash>.json``, so notebooks can run alone or in sequence and
the sequence never trains the same thing twice.

Toy profile: our small GPT trained on the toy world, evaluated on its six sets.
Hub profile: any Hugging Face causal LM, the hub datasets (or local files in their
schemas) and WikiText-103 for fine-tuning.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig, config_hash
from ..hooks import TrainHooks
from ..patterns import NM, RowWise
from ..prune import Pruner
from ..schedules import Schedule
from ..scores import calibration_batches, input_norms, random_scores, wanda_scores
from ..selection import check_scope
from ..training.recipes import finetune, iterative, l1_then_prune, scheduled
from .baseline import BASELINE_VERSION, build_baseline
from .configs import EvalConfig, ModelConfig, WorldConfig
from .data import load_corpus, load_eval_rows, records, token_stream
from .evaluate import evaluate_all
from .files import compute_once, default_cache_dir, runs_dir, write_json
from .model import load_causal_lm
from .parameters import Settings, pattern_sparsity
from .runtime import pick_device, seed_everything, set_threads
from .tasks import TASK_NAMES
from .toyworld import EVAL_VERSION, generate

# Evaluations along a fine-tuning run (its recovery curve). The count is in the run's cache
# key, since the curve is part of the cached result: a run without one (09's) and the same
# run with one (07's) are two results, whichever was computed first.
CURVE_POINTS = 4
# The toy world and model at two sizes: the tutorial's, and seconds-long for tests.
TOY_SIZES = {
    "tutorial": (WorldConfig(), ModelConfig()),
    "smoke": (
        WorldConfig(
            n_people=16,
            bios_per_person=4,
            qa_repeats=2,
            n_stories=20,
            n_activities=20,
            n_passages=20,
            n_eval=8,
        ),
        ModelConfig(vocab_size=400, n_layer=2, n_head=2, n_embd=32, block_size=64),
    ),
}


class EvalHook(TrainHooks):
    """Evaluate at given optimizer steps during training (a recovery curve)."""

    def __init__(self, experiment: Experiment, model, checkpoints: list[int]):
        self.experiment, self.model, self.checkpoints = experiment, model, set(checkpoints)
        self.curve: list[dict[str, Any]] = []

    def after_step(self, step: int) -> None:
        if step + 1 in self.checkpoints:
            self.curve.append({"step": step + 1, "scores": self.experiment.evaluate(self.model)})


class Experiment:
    """Baseline, data and cached pruning experiments for one set of parameters."""

    def __init__(self, settings: Settings, progress: bool = True):
        self.settings = settings
        self.progress = progress
        set_threads(settings.threads)
        self.device = pick_device(settings.device)
        self.cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
        self.out = runs_dir(settings.profile)
        self.world_config, self.model_config = copy.deepcopy(TOY_SIZES[settings.toy_size])
        self.world_config.seed = settings.world_seed
        if settings.model != "toy":
            self.model_config.name = settings.model
        self._world = None
        self._sets = None
        self._stream = None
        self._baseline = None

    # -- configs --------------------------------------------------------------------
    def baseline_train_config(self) -> TrainConfig:
        return TrainConfig(
            steps=self.settings.baseline_steps,
            batch_size=self.settings.batch_size,
            learning_rate=self.settings.baseline_learning_rate,
            warmup_steps=min(50, self.settings.baseline_steps),
            seed=self.settings.seed,
            log_every=50,
        )

    def finetune_config(self, steps: int | None = None, seed_offset: int = 1) -> TrainConfig:
        steps = self.settings.finetune_steps if steps is None else steps
        return TrainConfig(
            steps=steps,
            batch_size=self.settings.batch_size,
            grad_accum_steps=self.settings.grad_accum_steps,
            learning_rate=self.settings.finetune_learning_rate,
            warmup_steps=min(10, steps),
            seed=self.settings.seed + seed_offset,
            mixed_precision=self.settings.mixed_precision,
            log_every=max(1, min(10, steps)),
        )

    @property
    def eval_config(self) -> EvalConfig:
        return EvalConfig(batch_size=self.settings.eval_batch_size, limit=self.settings.eval_limit)

    @property
    def block_size(self) -> int:
        if self.settings.model == "toy":
            return self.model_config.block_size
        return self.settings.block_size

    # -- data and baseline ------------------------------------------------------------
    @property
    def world(self):
        if self._world is None:
            self._world = generate(self.world_config)
        return self._world

    def eval_sets(self) -> dict[str, list]:
        """Records of the six tasks, in the paper's order."""
        if self._sets is None:
            limit = self.settings.eval_limit
            source = self.settings.datasets
            sets = {}
            for task in TASK_NAMES:
                if source == "toy":
                    rows = self.world.eval_sets[task][:limit]
                elif source == "hub":
                    rows = load_eval_rows(task, None, limit)
                else:
                    folder = Path(source)
                    if not folder.is_dir():
                        raise ValueError(
                            f"datasets={source!r} must be 'toy', 'hub' or a folder of "
                            "<task>.jsonl files"
                        )
                    rows = load_eval_rows(task, folder / f"{task}.jsonl", limit)
                sets[task] = records(task, rows)
            self._sets = sets
        return self._sets

    def baseline(self):
        """(model, tokenizer) of the dense starting point, on the experiment's device."""
        if self._baseline is None:
            if self.settings.model == "toy":
                folder = build_baseline(
                    self.world_config,
                    self.model_config,
                    self.baseline_train_config(),
                    self.cache,
                    self.progress,
                )
                model, tokenizer = load_causal_lm(folder)
            else:
                model, tokenizer = load_causal_lm(self.settings.model)
            self._baseline = (model.to(self.device).eval(), tokenizer)
        return self._baseline

    def fresh_model(self):
        """A copy of the baseline to prune (the baseline itself stays dense)."""
        model, _ = self.baseline()
        return copy.deepcopy(model)

    @property
    def tokenizer(self):
        return self.baseline()[1]

    def stream(self) -> torch.Tensor:
        """The fine-tuning token stream."""
        if self._stream is None:
            corpus = self.settings.corpus
            if corpus == "toy":
                documents = self.world.train_documents
            else:
                documents = load_corpus(
                    None if corpus == "hub" else corpus, self.settings.corpus_limit
                )
            self._stream = token_stream(self.tokenizer, documents)
        return self._stream

    # -- evaluation and caching ---------------------------------------------------------
    def evaluate(self, model, items: int | None = None) -> dict[str, dict[str, float | str]]:
        """Every task's scores; ``items``: only the first that many items of each set."""
        sets = self.eval_sets()
        if items is not None:
            sets = {task: records[:items] for task, records in sets.items()}
        return evaluate_all(
            model,
            self.tokenizer,
            sets,
            self.eval_config.batch_size,
            self.eval_config.max_new_tokens,
        )

    def key(self, kind: str, **payload: Any) -> str:
        base = {
            "settings": {
                k: v
                for k, v in asdict(self.settings).items()
                # world_seed is in the key as the world's own seed, below
                # ...and the one-shot method and pattern in the payload of the runs they shape
                if k
                not in (
                    "profile",
                    "threads",
                    "cache_dir",
                    "device",
                    "world_seed",
                    "method",
                    "pattern",
                    "calibration_sequences",
                )
            },
            "world": asdict(self.world_config),
            "model": asdict(self.model_config),
            "baseline_version": BASELINE_VERSION,  # a new corpus or recipe: every run anew
            "eval_version": EVAL_VERSION,  # new evaluation items: every score anew
            "kind": kind,
            **payload,
        }
        return f"{kind}-{config_hash(base)}"

    def cached(self, key: str, compute) -> dict[str, Any]:
        path = self.cache / "results" / f"{key}.json"
        if not path.is_file():
            compute_once(path, compute)  # or wait for the process computing it
        return json.loads(path.read_text())  # the same object a later cache hit returns

    # -- experiments ------------------------------------------------------------------------
    def dense(self) -> dict[str, Any]:
        def compute():
            model, _ = self.baseline()
            return {"scores": self.evaluate(model), "sparsity": 0.0}

        return self.cached(self.key("dense"), compute)

    def _train_args(self, steps: int, checkpoints=(), model=None) -> dict[str, Any]:
        """The fine-tuning config and the shared arguments of every recipe's loop."""
        config = self.finetune_config(steps)
        seed_everything(config.seed)
        eval_hook = EvalHook(self, model, list(checkpoints)) if checkpoints else None
        return {
            "stream": self.stream(),
            "config": config,
            "block_size": self.block_size,
            "extra_hooks": eval_hook,
            "device": self.device.type,
            "progress": self.progress,
        }

    def final_scores(self, model, curve: list[dict[str, Any]], steps: int) -> dict[str, Any]:
        """The scores after ``steps``: the curve's last point when it was taken there (the
        same weights, already evaluated), else a new evaluation."""
        if steps and curve and curve[-1]["step"] == steps:
            return curve[-1]["scores"]
        return self.evaluate(model)

    def _finetune(self, model, pruner, steps, checkpoints=()):
        args = self._train_args(steps, checkpoints, model)
        result = finetune(model, pruner, **args)
        return result, (args["extra_hooks"].curve if args["extra_hooks"] else [])

    def oneshot(
        self,
        sparsity: float,
        scope: str = "layer",
        finetune: bool = False,
        curve_points: int = CURVE_POINTS,
        score: str | None = None,
        checkpoints: list[int] | None = None,
        pattern: str | None = None,
    ) -> dict[str, Any]:
        """Prune to ``sparsity`` at once; optionally fine-tune with the masks held, evaluating
        at ``checkpoints`` (default: ``curve_points`` even steps).

        ``score`` (default: the ``method`` setting) is ``magnitude``, ``wanda`` (|W| times
        each input's norm over calibration windows, compared within each output row, as the
        Wanda paper defines it) or ``random`` (the control every score needs). ``pattern``
        (default: the ``pattern`` setting) is ``unstructured`` or ``N:M``, which fixes the
        sparsity at 1 - N/M.
        """
        score = self.settings.method if score is None else score
        pattern = self.settings.pattern if pattern is None else pattern
        if score not in ("magnitude", "wanda", "random"):
            raise ValueError(
                f"score={score!r} is not allowed; choose 'magnitude', 'wanda' or 'random'"
            )
        implied = pattern_sparsity(pattern)
        if implied is not None and abs(sparsity - implied) > 1e-9:
            raise ValueError(
                f"sparsity={sparsity} does not fit pattern={pattern!r}; allowed: {implied:g}"
            )
        steps = self.settings.finetune_steps if finetune else 0
        if checkpoints is not None:
            checkpoints = sorted({int(c) for c in checkpoints if 1 <= int(c) <= steps})

        def compute():
            model = self.fresh_model()
            pruner = Pruner(model, scope=check_scope(scope))
            scores = self.scores(score, model, pruner)
            if implied is not None:
                n, m = (int(x) for x in pattern.split(":"))
                pruner.prune_pattern(NM(n, m), scores)
            elif score == "wanda":
                pruner.prune_pattern(RowWise(sparsity), scores)  # Wanda's comparison group
            else:
                pruner.prune(sparsity, scores)
            out: dict[str, Any] = {"sparsity": pruner.sparsity(), "report": pruner.report()[-1]}
            if steps:
                before = self.oneshot(sparsity, scope, score=score, pattern=pattern)["scores"]
                points = checkpoints or _checkpoints(steps, curve_points)
                result, curve = self._finetune(model, pruner, steps, points)
                out["curve"] = [{"step": 0, "scores": before}] + curve
                out["history"] = result.history
                out["sparsity"] = pruner.sparsity()
            out["scores"] = self.final_scores(model, out.get("curve", []), steps)
            return out

        # Only what a run sets beyond the defaults enters its key (the defaults' keys
        # stay short and stable).
        extra: dict[str, Any] = {}
        if score != "magnitude":
            extra["score"] = score
        if score == "wanda":
            extra["calibration_sequences"] = self.settings.calibration_sequences
        if pattern != "unstructured":
            extra["pattern"] = pattern
        if checkpoints is not None:
            extra["checkpoints"] = checkpoints
        elif steps:  # the curve is part of a fine-tuning run's cached result
            extra["curve_points"] = curve_points
        return self.cached(
            self.key("oneshot", sparsity=sparsity, scope=scope, steps=steps, **extra), compute
        )

    def scores(self, score: str, model, pruner: Pruner):
        """The importance scores of ``score`` for ``pruner``'s weights (None: magnitude)."""
        if score == "random":
            return random_scores(pruner.weights, seed=self.settings.seed)
        if score == "wanda":
            batches = calibration_batches(
                self.stream(),
                self.settings.calibration_sequences,
                self.block_size,
                seed=self.settings.seed,
            )
            return wanda_scores(pruner, input_norms(pruner, model, batches))
        return None

    def layer_alone(self, name: str, sparsity: float) -> dict[str, Any]:
        """Prune one weight matrix alone to ``sparsity`` by magnitude (no fine-tuning): how
        sensitive the model is to that layer, on the first ``SCAN_ITEMS`` items of each set
        (a scan is dozens of runs; compare it with ``notebook.mean_score(scores, SCAN_ITEMS)``
        of the dense run)."""

        def compute():
            model = self.fresh_model()
            pruner = Pruner(model, include=[f"^{re.escape(name)}$"])
            pruner.prune(sparsity)
            scores = self.evaluate(model, SCAN_ITEMS)
            return {"scores": scores, "sparsity": pruner.sparsity(), "items": SCAN_ITEMS}

        key = self.key("layer_alone", name=name, sparsity=sparsity, items=SCAN_ITEMS)
        return self.cached(key, compute)

    def threshold(self, threshold: float | None = None, q: float | None = None) -> dict[str, Any]:
        """Prune ``|w| < threshold`` or ``|w| < q * std`` of each layer (no fine-tuning)."""

        def compute():
            model = self.fresh_model()
            pruner = Pruner(model)
            pruner.prune_threshold(threshold=threshold, q=q)
            return {
                "scores": self.evaluate(model),
                "sparsity": pruner.sparsity(),
                "layers": pruner.report(),
            }

        return self.cached(self.key("threshold", threshold=threshold, q=q), compute)

    def control(self, curve_points: int = CURVE_POINTS) -> dict[str, Any]:
        """The dense model given the same extra fine-tuning (so recovery is not mistaken
        for more training)."""
        steps = self.settings.finetune_steps

        def compute():
            model = self.fresh_model()
            before = self.dense()["scores"]  # same weights, cached
            result, curve = self._finetune(model, None, steps, _checkpoints(steps, curve_points))
            return {
                "scores": self.final_scores(model, curve, steps),
                "sparsity": 0.0,
                "history": result.history,
                "curve": [{"step": 0, "scores": before}] + curve,
            }

        key = self.key("control", steps=steps, curve_points=curve_points)
        return self.cached(key, compute)

    def iterative(self, sparsity: float, iterations: int, scope: str = "layer") -> dict[str, Any]:
        """Prune the same rate of the remaining weights ``iterations`` times within one
        fine-tuning run of ``finetune_steps`` (one optimizer, one stream of batches)."""
        total = self.settings.finetune_steps

        def compute():
            model = self.fresh_model()
            result = iterative(
                model, sparsity=sparsity, iterations=iterations, scope=scope,
                **self._train_args(total),
            )  # fmt: skip
            return {
                "scores": self.evaluate(model),
                "sparsity": result.pruner.sparsity(),
                "rate": result.rate,
                "trace": result.trace,
            }

        # version 2: one continuous run (version 1 re-seeded and restarted each round)
        key = self.key(
            "iterative", sparsity=sparsity, iterations=iterations, scope=scope, steps=total,
            version=2,
        )  # fmt: skip
        return self.cached(key, compute)

    def scheduled(self, schedule: Schedule) -> dict[str, Any]:
        """Gradual pruning inside fine-tuning, following ``schedule``."""
        steps = max(self.settings.finetune_steps, schedule.end_step + 1)

        def compute():
            model = self.fresh_model()
            pruner, result = scheduled(model, schedule=schedule, **self._train_args(steps))
            return {
                "scores": self.evaluate(model),
                "sparsity": pruner.sparsity(),
                "history": result.history,
                "pruning": pruner.history,
            }

        return self.cached(self.key("scheduled", schedule=asdict(schedule), steps=steps), compute)

    def l1(
        self, lam: float, sparsity: float, l1_steps: int, proximal: bool = False
    ) -> dict[str, Any]:
        """Train ``l1_steps`` with the L1 penalty (or its proximal step), prune to
        ``sparsity``, then fine-tune."""

        def compute():
            model = self.fresh_model()
            l1_args = self._train_args(l1_steps)
            # The fine-tuning config is made after L1 training, as it always was: it
            # re-seeds the stream so every λ fine-tunes on the same batches.
            result = l1_then_prune(
                model,
                l1_args["stream"],
                self.block_size,
                lam,
                l1_args["config"],
                None,
                sparsity=sparsity,
                device=self.device.type,
                progress=self.progress,
                after_l1=self._l1_snapshot,
                after_pruning=self.evaluate,
                proximal=proximal,
            )
            self._finetune(model, result.pruner, self.settings.finetune_steps)
            snapshot = result.extra["after_l1"]
            return {
                "scores": self.evaluate(model),
                "scores_after_l1": snapshot["scores"],
                "scores_pruned": result.extra["after_pruning"],
                "sparsity": result.pruner.sparsity(),
                "l1_history": result.l1_training.history,
                **snapshot["weights"],
            }

        return self.cached(
            self.key(
                "l1",
                lam=lam,
                sparsity=sparsity,
                l1_steps=l1_steps,
                steps=self.settings.finetune_steps,
                proximal=proximal,
                version=2,  # 2: exact zeros and the L1 run's loss history recorded
            ),
            compute,
        )

    def _l1_snapshot(self, model) -> dict[str, Any]:
        """Scores and the |w| histogram of the prunable weights right after L1 training."""
        weights = torch.cat(
            [w.detach().flatten().float().cpu() for w in Pruner(model).weights.values()]
        )
        histogram = torch.histogram(weights.abs().clamp(max=0.3), bins=30, range=(0.0, 0.3))
        return {
            "scores": self.evaluate(model),
            "weights": {
                "mean_abs_weight": weights.abs().mean().item(),
                "sum_abs_weight": weights.abs().sum().item(),
                "zero_fraction": (weights == 0).float().mean().item(),
                "histogram": histogram.hist.tolist(),
                "bin_edges": histogram.bin_edges.tolist(),
            },
        }

    def save_result(self, name: str, value: Any) -> Path:
        """A notebook's result, as runs/<profile>/results/<name>.json."""
        return write_json(self.out / "results" / f"{name}.json", value)

    def figure_path(self, name: str) -> Path:
        path = self.out / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


# Items of each set that a layer-alone run of the sensitivity scan is scored on.
SCAN_ITEMS = 100


def _checkpoints(steps: int, points: int) -> list[int]:
    return sorted({max(1, round(steps * (i + 1) / points)) for i in range(points)})
