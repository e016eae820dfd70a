"""The service: batch prediction, a JSON API, and JSON serialisation."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sentiment_service.data import LABELS
from sentiment_service.logs import log
from sentiment_service.model import train

MAX_TEXT_CHARS = 20_000


@dataclass
class SentimentService:
    """Sentiment prediction behind a small JSON API."""

    model: torch.nn.Module
    tokenizer: Any
    slow_json: bool = False
    log_payloads: bool = False
    classes_: tuple[str, ...] = LABELS

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Padded token ids for ``texts``."""
        return self.tokenizer.encode(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), 2)``: columns negative, positive."""
        with torch.no_grad():
            logits = self.model(self.encode(list(texts)))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely label of each text."""
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def handle(self, payload: Any) -> dict[str, Any]:
        """The JSON API: ``{"text": ...}`` or ``{"texts": [...]}`` -> predictions or a 400."""
        if self.log_payloads:
            # A debugging aid left in by mistake: request bodies hold users' own words.
            log.info("request received", extra={"payload": payload})
        texts, error = _texts_from(payload)
        if error:
            log.warning("bad request", extra={"status": 400, "error": error})
            return {"status": 400, "error": error}
        probabilities = self.predict_proba(texts)
        predictions = [
            {"label": self.classes_[int(row.argmax())], "confidence": float(row.max())}
            for row in probabilities
        ]
        labels = [p["label"] for p in predictions]
        log.info("predicted", extra={"status": 200, "texts": len(texts), "labels": labels})
        return {"status": 200, "predictions": predictions}

    def serialize(self, response: dict[str, Any]) -> str:
        """Strict JSON for clients: non-finite numbers become null, never ``NaN``."""
        clean = _finite(response)
        if self.slow_json:
            # INC-2025-005's culprit: a debug copy of the response, pretty-printed
            # with sorted keys, many times over, on every request.
            debug = {"copies": [clean] * 100, "request_trace": list(range(2000))}
            json.dumps(debug, indent=2, sort_keys=True)
        return json.dumps(clean, allow_nan=False, separators=(",", ":"))


def _texts_from(payload: Any) -> tuple[list[str], str | None]:
    if not isinstance(payload, dict):
        return [], "payload must be a JSON object"
    texts = payload.get("texts", [payload["text"]] if "text" in payload else None)
    if not isinstance(texts, list) or not texts:
        return [], "give 'text' (a string) or 'texts' (a non-empty list of strings)"
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            return [], "every text must be a non-empty string"
        if len(text) > MAX_TEXT_CHARS:
            return [], f"text longer than {MAX_TEXT_CHARS} characters"
    return texts, None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def load_service() -> SentimentService:
    """Train (or reuse) the model and return the service; env switches apply."""
    torch.set_num_threads(1)
    case_sensitive = os.environ.get("PRODGUARD_EXAMPLE_CASE_SENSITIVE") == "1"
    model, tokenizer = train(case_sensitive=case_sensitive)
    return SentimentService(
        model=model,
        tokenizer=tokenizer,
        slow_json=os.environ.get("PRODGUARD_EXAMPLE_SLOW_JSON") == "1",
        log_payloads=os.environ.get("PRODGUARD_EXAMPLE_LOG_PAYLOADS") == "1",
    )
