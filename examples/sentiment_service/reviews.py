"""A database-backed endpoint: products with their reviews' sentiment, stored in SQLite.

``ReviewStore`` keeps products and their reviews; ``product_sentiment`` is the
endpoint: one query fetches every product with its reviews (a join), and the
model labels them in one batch.

Switch that reproduces a past mistake on purpose:

- ``PRODGUARD_EXAMPLE_N_PLUS_ONE=1``: reviews are fetched one product at a time
  (one query per product), so the query-budget test fails with an N+1 message
  that points at the loop.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from sentiment_service.service import SentimentService

SCHEMA = """
CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE review (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES product (id),
    text TEXT NOT NULL
);
"""


class ReviewStore:
    """Products and their reviews in a SQLite database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.one_query = os.environ.get("PRODGUARD_EXAMPLE_N_PLUS_ONE") != "1"

    @classmethod
    def seeded(
        cls, connection: sqlite3.Connection, products: dict[str, Sequence[str]]
    ) -> ReviewStore:
        """Create the tables on ``connection`` and insert ``{product name: [review, ...]}``."""
        connection.executescript(SCHEMA)
        for product_id, (name, texts) in enumerate(products.items(), start=1):
            connection.execute("INSERT INTO product VALUES (?, ?)", (product_id, name))
            connection.executemany(
                "INSERT INTO review (product_id, text) VALUES (?, ?)",
                [(product_id, text) for text in texts],
            )
        connection.commit()
        return cls(connection)

    def reviews_by_product(self) -> dict[str, list[str]]:
        """Every product's reviews, products in id order."""
        if not self.one_query:
            return self._reviews_one_product_at_a_time()
        rows = self.connection.execute(
            "SELECT product.name, review.text FROM product "
            "LEFT JOIN review ON review.product_id = product.id ORDER BY product.id, review.id"
        ).fetchall()
        grouped: dict[str, list[str]] = {}
        for name, text in rows:
            grouped.setdefault(name, [])
            if text is not None:
                grouped[name].append(text)
        return grouped

    def _reviews_one_product_at_a_time(self) -> dict[str, list[str]]:
        products = self.connection.execute("SELECT id, name FROM product ORDER BY id").fetchall()
        return {
            name: [
                text
                for (text,) in self.connection.execute(
                    "SELECT text FROM review WHERE product_id = ? ORDER BY id", (product_id,)
                )
            ]
            for product_id, name in products
        }


def product_sentiment(service: SentimentService, store: ReviewStore) -> dict[str, Any]:
    """The endpoint: each product's review count and share of positive reviews."""
    reviews = store.reviews_by_product()
    texts = [text for product_reviews in reviews.values() for text in product_reviews]
    labels = iter(service.predict(texts) if texts else [])
    products = []
    for name, product_reviews in reviews.items():
        positive = sum(next(labels) == "positive" for _ in product_reviews)
        share = positive / len(product_reviews) if product_reviews else None
        products.append({"name": name, "reviews": len(product_reviews), "positive_share": share})
    return {"status": 200, "products": products}
