"""A small order service with seeded bugs, for the forensics walk-through.

``shop.service.handle(request)`` is its JSON API. It has six seeded bugs; set
``SHOP_FIXED=1`` to run the fixed code. ``python -m shop.generate_evidence``
(run from ``examples/``) drives traffic through it and writes the production
evidence under ``shop/evidence/``: a text log, a JSON-lines log, an OTLP trace
export and a metrics CSV.
"""

from __future__ import annotations
