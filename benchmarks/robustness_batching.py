"""Batched vs one-call-per-example evaluation of robustness variations (CPU, small torch models).

Prints a markdown table and nothing else. For each model and batch size it
runs ``find_failures`` end to end (draw the variations, evaluate originals and
variations, judge, minimise; the failure slices are computed on demand and are
not read here) and, separately, only the model evaluation and judgement of the
same pre-drawn variations. It reports variations checked per second (best of
``--repeats`` runs) and the speed-up over ``batch_size=1``, which is one model
call per example.

    python benchmarks/robustness_batching.py [--n 2000] [--repeats 3] [--threads 1]

``--threads`` sets ``torch.set_num_threads``; on a small shared machine torch's
intra-op threads fight over the cores and make every batched call slow, so the
default is 1 (pass 0 to keep torch's default).
"""

from __future__ import annotations

import argparse
import functools
import platform
import random
import time
from collections.abc import Callable
from typing import Any

import torch

from pytest_prodguard.robustness import SampledVariation, as_model, find_failures
from pytest_prodguard.robustness._draw import RandomDraw
from pytest_prodguard.robustness._samples import plans_for
from pytest_prodguard.robustness._search import _evaluate_all, _judge

REVIEWS = [
    "a great movie with a good cast",
    "the plot was boring and the acting awful",
    "i love this film, excellent from start to end",
    "not good at all, a waste of time",
    "bad script but great music",
    "an excellent and moving story",
    "i hate how slow it is",
    "good fun for the whole family",
]
BATCH_SIZES = (1, 16, 64, 256)


class BagOfWords(torch.nn.Module):
    """Embedding mean-pool + linear: a small text classifier."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(vocab, 32, mode="mean", padding_idx=0)
        self.out = torch.nn.Linear(32, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embed(ids))


def text_setup() -> tuple[Any, list[Any], dict[str, Any]]:
    vocab = {w: i + 2 for i, w in enumerate(sorted({w for r in REVIEWS for w in r.split()}))}

    def encode(texts: list[str]) -> torch.Tensor:
        ids = [[vocab.get(w.strip(".,!?").lower(), 1) for w in t.split()] or [1] for t in texts]
        width = max(len(row) for row in ids)
        return torch.tensor([row + [0] * (width - len(row)) for row in ids])

    torch.manual_seed(0)
    net = BagOfWords(len(vocab) + 2)
    model = as_model(net, preprocess=encode, returns="logits", classes=["negative", "positive"])
    return model, REVIEWS, {}


def tensor_setup() -> tuple[Any, list[Any], dict[str, Any]]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    samples = [torch.randn(16) for _ in range(32)]
    return as_model(net, returns="logits"), samples, {"radius": 0.05}


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def predrawn(samples: list[Any], kinds: dict[str, Any], n: int) -> tuple[list[Any], list[Any]]:
    """The variations find_failures(seed=0) draws, and the inputs they produce."""
    plans = plans_for(samples, {"min_steps": 1, **kinds})
    rng = random.Random(0)
    draw = RandomDraw(rng)
    drawn, varied = [], []
    for _ in range(n):
        index = rng.randrange(len(samples))
        change, result = plans[index].draw_applied(samples[index], draw)
        drawn.append(SampledVariation(index, change, samples[index]))
        varied.append(result)
    return drawn, varied


def evaluate_all(adapter: Any, samples: list[Any], drawn: list[Any], varied: list[Any]) -> Any:
    """Model calls plus the invariance judgement, for variations drawn beforehand."""
    judge, _ = _judge("invariant", None, 1e-6, None)
    return _evaluate_all(adapter, samples, drawn, varied, judge)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="variations per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell; the best is kept")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), "
        f"Python {platform.python_version()}, n={args.n} variations, best of {args.repeats}\n"
    )
    print(
        "| model | batch size | model calls | end-to-end variations/s | speed-up | "
        "evaluation-only variations/s | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, setup in (
        ("text: EmbeddingBag classifier + tokenizer", text_setup),
        ("tensor: MLP 16-64-3", tensor_setup),
    ):
        model, samples, kinds = setup()
        drawn, varied = predrawn(samples, kinds, args.n)
        base_e2e = base_eval = 0.0
        for size in BATCH_SIZES:
            adapter = model.with_batch_size(size)
            result = find_failures(adapter, samples, n=args.n, seed=0, **kinds)
            search = functools.partial(find_failures, adapter, samples, n=args.n, seed=0, **kinds)
            e2e = args.n / best_time(search, args.repeats)
            evaluate = functools.partial(evaluate_all, adapter, samples, drawn, varied)
            evaluation = args.n / best_time(evaluate, args.repeats)
            base_e2e = base_e2e or e2e
            base_eval = base_eval or evaluation
            print(
                f"| {name} | {size} | {result.model_calls} | {e2e:,.0f} | {e2e / base_e2e:.1f}x "
                f"| {evaluation:,.0f} | {evaluation / base_eval:.1f}x |"
            )


if __name__ == "__main__":
    main()
