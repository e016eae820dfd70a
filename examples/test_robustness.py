"""Robustness guards for the sentiment service, with pytest_prodguard.robustness.

Run with ``python -m pytest examples -k robustness`` from the repository root
(selecting with ``-k`` keeps the incident guards collected, which
``prodguard_require_guards`` checks). To see a failure, swap in the
case-sensitive tokenizer of the incident ("GREAT" became an unknown word)::

    PRODGUARD_EXAMPLE_CASE_SENSITIVE=1 python -m pytest examples -k robustness

Hypothesis then shrinks the case test to its minimal example (``upper()`` of
one review) and the batched search reports what the failing inputs share
("... failures are variations of kind 'case' vs ... of passes (p=...)").
"""

from __future__ import annotations

from hypothesis import given, settings
from sentiment_service import SentimentService
from sentiment_service.data import make_corpus
from sentiment_service.service import MAX_TEXT_CHARS

from pytest_prodguard.robustness import (
    SampledVariation,
    Variation,
    as_model,
    assert_deterministic,
    assert_invariant,
    assert_no_confident_errors,
    assert_robust,
    tensor_variations,
    text_variations,
    validate_inputs,
    variations_of,
)

REVIEWS = [
    "great product, I love it",
    "terrible service and a slow delivery",
    "the app is really nice",
    "my order arrived broken, I want a refund",
    "excellent support today",
    "this phone is useless and ugly",
    "quite a pleasant experience",
    "the worst item, very disappointing",
]

# Changes that must never flip the label of this bag-of-words model: letter
# case, spacing between words, punctuation, repeated words or reviews.
# (Typos and look-alike letters do flip some labels: unknown words are ignored.)
MEANING_PRESERVING = {
    "case": True,
    "whitespace": ["pad_left", "pad_right", "double_spaces", "collapse", "strip"],
    "punctuation": ["add_end", "remove", "strip_all"],
    "typos": 0,
    "unicode": False,
    "repetition": ["repeat_word", "repeat_text"],
}


@settings(max_examples=60, deadline=None)
@given(v=variations_of(REVIEWS, **MEANING_PRESERVING))
def test_meaning_preserving_changes_keep_the_label(service: SentimentService, v: SampledVariation):
    assert_invariant(service, v.sample, v)


def test_a_batched_search_finds_no_label_flips(service: SentimentService):
    # 400 variations checked in a handful of batched model calls; on failure the
    # message gives the failure rate, the minimal example and the shared traits.
    assert_robust(service, REVIEWS, n=400, seed=0, **MEANING_PRESERVING)


def test_same_review_same_answer(service: SentimentService):
    assert_deterministic(service, "great product, I love it", runs=5)


def test_no_confident_mistakes_on_held_out_reviews(service: SentimentService):
    held_out = make_corpus(size=300, seed=2024)  # a seed the model was not trained on
    texts, labels = [text for text, _ in held_out], [label for _, label in held_out]
    assert_no_confident_errors(service, texts, labels, threshold=0.9)


def test_padding_and_batch_size_do_not_change_the_logits(service: SentimentService):
    ids = service.encode(REVIEWS[:3])  # padded token ids, shape (3, width)
    width = ids.shape[1]
    model = as_model(lambda batch: service.model(batch))

    @settings(max_examples=25, deadline=None)
    @given(v=tensor_variations(ids, batch_sizes=[1, 7], lengths=[width + 3, 2 * width]))
    def check(v: Variation) -> None:
        assert_invariant(model, ids, v, tol=1e-5)

    check()


@settings(max_examples=40, deadline=None)
@given(v=text_variations(REVIEWS[0], long=True, empty=True, max_length=30_000, max_steps=2))
def test_the_api_rejects_exactly_what_validation_flags(service: SentimentService, v: Variation):
    text = v(REVIEWS[0])
    flagged = not validate_inputs([text], max_length=MAX_TEXT_CHARS).ok
    assert (service.handle({"text": text})["status"] == 400) == flagged
