"""A seeded, generated training corpus: short product reviews with a label."""

from __future__ import annotations

import random

POSITIVE = [
    "great",
    "excellent",
    "love",
    "wonderful",
    "fantastic",
    "good",
    "amazing",
    "happy",
    "perfect",
    "recommend",
    "best",
    "nice",
    "pleasant",
    "superb",
    "delightful",
]
NEGATIVE = [
    "terrible",
    "awful",
    "hate",
    "horrible",
    "bad",
    "worst",
    "poor",
    "broken",
    "disappointing",
    "refund",
    "useless",
    "angry",
    "slow",
    "ugly",
    "annoying",
]
NEUTRAL = [
    "the",
    "this",
    "product",
    "it",
    "was",
    "is",
    "service",
    "delivery",
    "item",
    "really",
    "quite",
    "phone",
    "app",
    "order",
    "and",
    "very",
    "my",
    "experience",
    "support",
    "today",
]
LABELS = ("negative", "positive")


def make_corpus(size: int = 600, seed: int = 7) -> list[tuple[str, int]]:
    """``size`` reviews, half positive, each 4-12 words with 1-3 sentiment words."""
    rng = random.Random(seed)
    corpus = []
    for index in range(size):
        label = index % 2
        words = rng.choices(NEUTRAL, k=rng.randint(3, 9))
        sentiment = POSITIVE if label == 1 else NEGATIVE
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(sentiment))
        corpus.append((" ".join(words), label))
    return corpus
