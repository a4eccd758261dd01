"""Prune a profile's model and fine-tune it with its masks held, on one or many processes.

The notebooks run in one kernel; this script is the same recipe for ``accelerate launch``,
so the paper profile's fine-tuning spreads over every GPU of a machine:

    accelerate launch --multi_gpu --num_processes 8 -m pruning_lib.study.launch params/paper.yaml \\
        --sparsity 0.5
    python -m pruning_lib.study.launch params/smoke.yaml --sparsity 0.5   # one process

Every rank prunes the same weights to the same masks (the profile's ``method`` and
``pattern``, through ``recipes.oneshot`` as in the notebooks); the training loop gives each rank
its slice of the global batch; the main process evaluates and writes
``runs/<profile>/launch-<sparsity>/`` (model and masks as safetensors, ``scores.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..scores import calibration_batches
from ..training.finetune import make_accelerator, train
from ..training.recipes import oneshot
from .configs import load_profile
from .experiment import Experiment
from .files import runs_dir, write_json
from .model import save_model
from .parameters import check_parameters, pattern_sparsity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pruning_lib.study.launch", description=__doc__)
    parser.add_argument("profile", help="a YAML parameter file, e.g. params/paper.yaml")
    parser.add_argument("--sparsity", type=float, required=True, help="target sparsity in [0, 1)")
    parser.add_argument(
        "--scope",
        choices=["layer", "global"],
        default="layer",
        help="prune each layer to the sparsity, or all weights together",
    )
    parser.add_argument("--out", default=None, help="output folder (default runs/<profile>/)")
    args = parser.parse_args(argv)
    try:
        if not 0 <= args.sparsity < 1:
            raise ValueError(f"--sparsity={args.sparsity} is out of range; allowed: [0, 1)")
        values = load_profile(args.profile)
        values.setdefault("profile", Path(args.profile).stem)
        values.pop("notebooks", None)  # the runner's key: which notebooks reproduce runs
        settings, _ = check_parameters(values)  # an unknown key is an error, not dropped
        implied = pattern_sparsity(settings.pattern)
        if implied is not None and abs(args.sparsity - implied) > 1e-9:
            raise ValueError(
                f"--sparsity={args.sparsity} does not fit pattern={settings.pattern!r}; "
                f"allowed: {implied:g}"
            )
    except ValueError as error:
        print(f"pruning_lib.study.launch: error: {error}", file=sys.stderr)
        return 2
    experiment = Experiment(settings, progress=True)
    config = experiment.finetune_config()
    accelerator = make_accelerator(config, experiment.device.type)
    with accelerator.main_process_first():  # one rank trains or downloads the baseline
        model = experiment.fresh_model()
    tokenizer = experiment.tokenizer
    stream = experiment.stream()
    calibration = None
    if settings.method == "wanda":
        calibration = calibration_batches(
            stream, settings.calibration_sequences, experiment.block_size, seed=settings.seed
        )
    # The profile's method and pattern, as every one-shot run of the study prunes.
    pruner = oneshot(model, args.sparsity, args.scope, settings.method, settings.pattern,
                     calibration, seed=settings.seed)  # fmt: skip
    result = train(
        model,
        stream,
        config,
        experiment.block_size,
        hooks=pruner,
        device=experiment.device.type,
        accelerator=accelerator,
    )
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        out = Path(args.out) if args.out else runs_dir(settings.profile)
        folder = out / f"launch-{args.sparsity}"
        save_model(model, tokenizer, folder)
        pruner.save(folder / "masks.safetensors")
        scores = experiment.evaluate(model)
        write_json(
            folder / "scores.json",
            {
                "sparsity": pruner.sparsity(),
                "processes": accelerator.num_processes,
                "scores": scores,
                "history": result.history,
                "tokens_per_second": result.tokens_per_second,
            },
        )
        print(
            f"sparsity {pruner.sparsity():.4f} on {accelerator.num_processes} process(es); "
            f"results in {folder}"
        )
    accelerator.wait_for_everyone()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
