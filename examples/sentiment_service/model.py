"""The torch model and its tokenizer."""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from sentiment_service.data import NEGATIVE, NEUTRAL, POSITIVE, make_corpus

PAD, UNKNOWN = 0, 1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class Tokenizer:
    """Word tokenizer over a fixed vocabulary; lower-cases unless case_sensitive."""

    def __init__(
        self, vocabulary: Sequence[str], *, case_sensitive: bool = False, max_tokens: int = 256
    ):
        self.index = {word: position + 2 for position, word in enumerate(vocabulary)}
        self.case_sensitive = case_sensitive
        self.max_tokens = max_tokens

    def tokens(self, text: str) -> list[int]:
        """Token ids of ``text`` (at most ``max_tokens``; the rest is cut off)."""
        if not self.case_sensitive:
            text = text.lower()
        words = _WORD.findall(text)[: self.max_tokens]
        return [self.index.get(word, UNKNOWN) for word in words] or [UNKNOWN]

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """A padded ``(batch, length)`` LongTensor of token ids."""
        rows = [self.tokens(text) for text in texts]
        width = max(len(row) for row in rows)
        return torch.tensor([row + [PAD] * (width - len(row)) for row in rows], dtype=torch.long)


class BagOfWords(nn.Module):
    """Mean of word embeddings, then a linear layer: two logits."""

    def __init__(self, vocabulary_size: int, dim: int = 16) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocabulary_size, dim, mode="mean", padding_idx=PAD)
        self.head = nn.Linear(dim, 2)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch, 2)`` for a padded batch of token ids."""
        return self.head(self.embedding(token_ids))


def train(
    *, case_sensitive: bool = False, seed: int = 0, epochs: int = 150
) -> tuple[BagOfWords, Tokenizer]:
    """Train the classifier on the generated corpus; deterministic for a given seed."""
    torch.manual_seed(seed)
    tokenizer = Tokenizer([*POSITIVE, *NEGATIVE, *NEUTRAL], case_sensitive=case_sensitive)
    corpus = make_corpus()
    inputs = tokenizer.encode([text for text, _ in corpus])
    labels = torch.tensor([label for _, label in corpus])
    model = BagOfWords(len(tokenizer.index) + 2)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimiser.step()
    model.eval()
    return model, tokenizer
