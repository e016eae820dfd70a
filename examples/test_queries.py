"""A query budget on the service's database-backed endpoint (SQLite).

The endpoint must fetch every product with its reviews in one query, however
many products there are. To see the failure an ORM lazy-load or a loop of
lookups causes, bring the N+1 back::

    PRODGUARD_EXAMPLE_N_PLUS_ONE=1 python -m pytest examples -k queries

The failure names the repeated statement, how often it ran, and the line of
``sentiment_service/reviews.py`` that issued it.
"""

from __future__ import annotations

import sqlite3

import pytest
from sentiment_service.reviews import ReviewStore, product_sentiment

from pytest_prodguard.queries import wrap

PRODUCTS = {
    f"product-{n}": ["great product, I love it", "terrible, it arrived broken", "really nice"]
    for n in range(10)
}


@pytest.fixture(scope="module")
def store():
    """Ten products with three reviews each, on a connection made before the tests.

    ``wrap`` (one line) lets the query budgets see a connection made outside the
    test; connections the test itself opens with ``sqlite3.connect`` need nothing.
    """
    connection = wrap(sqlite3.connect(":memory:"))
    yield ReviewStore.seeded(connection, PRODUCTS)
    connection.close()


# max_time is loose on purpose: the join takes well under a millisecond, but a test on a
# shared CI machine can be descheduled mid-query.
@pytest.mark.query_budget(max_queries=1, max_duplicates=1, max_time="100ms")
def test_product_sentiment_is_one_query(service, store):
    response = product_sentiment(service, store)
    assert response["status"] == 200
    assert [product["reviews"] for product in response["products"]] == [3] * 10


def test_the_queries_fixture_shows_what_ran(service, store, queries):
    product_sentiment(service, store)
    assert len(queries) >= 1, queries.sql()
