"""The context every run needs, for one set of settings: data, baseline, evaluation, cache.

An :class:`Experiment` holds what the runs of one training seed share: the toy world (or
the hub datasets), the dense baseline, the fine-tuning stream, the evaluation of a model on
the six tasks, and the cache of results. A notebook builds one with ``start(globals())``
and asks it for runs:

    results = compute(experiment, plan)  # a plan of runs (plans.py), on every core (pool.py)
    experiment.result(run)               # one run: from the cache, else computed here

Each result is stored as JSON under ``<cache>/results/<kind>-<hash>.json``
(:meth:`Run.key <pruning_lib.study.runs.Run.key>`), so notebooks can run alone or in
sequence and no run is computed twice.

Toy profile: our small GPT trained on the toy world, evaluated on its six sets.
Hub profile: any Hugging Face causal LM, the hub datasets (or local files in their
schemas) and WikiText-103 for fine-tuning.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..evaluation.data import load_corpus, load_eval_rows, records, token_stream
from ..evaluation.evaluate import evaluate_all
from ..evaluation.tasks import MULTIPLE_CHOICE, TASK_NAMES
from ..hooks import TrainHooks
from ..training.recipes import finetune
from .baseline import build_baseline, committed_or_cached
from .configs import EvalConfig, toy_configs
from .files import default_cache_dir, runs_dir, write_json
from .kinds import KINDS
from .model import load_causal_lm
from .parameters import Settings
from .runs import Run
from .runtime import pick_device, seed_everything, set_threads
from .toyworld import generate


class EvalHook(TrainHooks):
    """Evaluate at given optimizer steps during training (a recovery curve)."""

    def __init__(self, experiment: Experiment, model, checkpoints: list[int]):
        self.experiment, self.model, self.checkpoints = experiment, model, set(checkpoints)
        self.curve: list[dict[str, Any]] = []

    def after_step(self, step: int) -> None:
        if step + 1 in self.checkpoints:
            self.curve.append({"step": step + 1, "scores": self.experiment.evaluate(self.model)})


class Experiment:
    """Data, baseline, evaluation and cached runs for one set of settings."""

    def __init__(self, settings: Settings, progress: bool = True):
        self.settings = settings
        self.progress = progress
        set_threads(settings.threads)
        self.device = pick_device(settings.device)
        self.cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
        self.out = runs_dir(settings.profile)
        self.world_config, self.model_config = toy_configs(settings)
        self._world = None
        self._sets = None
        self._stream = None
        self._baseline = None
        self._seeds: dict[int, Experiment] = {settings.seed: self}

    def at(self, seed: int) -> Experiment:
        """The same experiment with another training seed (same world, same items)."""
        if seed not in self._seeds:
            other = Experiment(dataclasses.replace(self.settings, seed=seed), self.progress)
            other._world, other._sets, other._seeds = self._world, self._sets, self._seeds
            self._seeds[seed] = other
        return self._seeds[seed]

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

    def finetune_config(self, steps: int | None = None) -> TrainConfig:
        steps = self.settings.finetune_steps if steps is None else steps
        return TrainConfig(
            steps=steps,
            batch_size=self.settings.finetune_batch_size,
            grad_accum_steps=self.settings.grad_accum_steps,
            learning_rate=self.settings.finetune_learning_rate,
            warmup_steps=min(10, steps),
            seed=self.settings.seed + 1,
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

    def item_limit(self, task: str) -> int | None:
        """How many items of ``task`` are scored: the first ``eval_limit``, and of a
        multiple-choice task (``MULTIPLE_CHOICE``) the first ``choice_limit`` of those."""
        limits = [self.settings.eval_limit]
        if task in MULTIPLE_CHOICE:
            limits.append(self.settings.choice_limit)
        return min((n for n in limits if n is not None), default=None)

    def eval_sets(self) -> dict[str, list]:
        """Records of the six tasks, in the paper's order."""
        if self._sets is None:
            source = self.settings.datasets
            sets = {}
            for task in TASK_NAMES:
                limit = self.item_limit(task)
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

    def needs_training(self) -> bool:
        """Whether the baseline must still be trained (toy model, neither cached nor
        committed): the pool trains those first."""
        if self.settings.model != "toy":
            return False
        found = committed_or_cached(
            self.world_config, self.model_config, self.baseline_train_config(), self.cache
        )
        return found is None

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

    # -- evaluation and training --------------------------------------------------------
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

    def train_args(self, steps: int, checkpoints=(), model=None) -> dict[str, Any]:
        """The fine-tuning config (seeded here) and the shared arguments of every recipe's
        loop; ``checkpoints``: the steps at which to evaluate ``model`` (a curve)."""
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

    def finetune(self, model, pruner, steps: int, checkpoints=()):
        """Fine-tune ``model`` (masks held by ``pruner``; None: dense); returns the training
        result and the recovery curve at ``checkpoints``."""
        args = self.train_args(steps, checkpoints, model)
        result = finetune(model, pruner, **args)
        return result, (args["extra_hooks"].curve if args["extra_hooks"] else [])

    # -- runs ------------------------------------------------------------------------------
    def path(self, run: Run) -> Path:
        """Where ``run``'s result is cached."""
        return self.cache / "results" / f"{run.key(self.settings)}.json"

    def result(self, run: Run) -> dict[str, Any]:
        """``run``'s result: from the cache, else computed in this process and cached."""
        path = self.path(run)
        if not path.is_file():
            write_json(path, KINDS[run.kind](self.at(run.seed), **run.kwargs))
        return json.loads(path.read_text())  # the same object a later cache hit returns

    # -- outputs ------------------------------------------------------------------------
    def save_result(self, name: str, value: Any) -> Path:
        """A notebook's result, as runs/<profile>/results/<name>.json."""
        return write_json(self.out / "results" / f"{name}.json", value)

    def figure_path(self, name: str) -> Path:
        path = self.out / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
