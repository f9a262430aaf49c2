"""One abstract specification per port (the eventsourcing model): a `...Contract` class whose test
methods say what every adapter of the port must do. Concrete suites subclass each one per adapter
and provide the fixtures it names:

- tests/unit/test_port_contracts_fake.py: the in-memory fakes (tests/fakes.py);
- tests/integration/test_port_contracts_postgres.py: the PostgreSQL adapters;
- tests/integration/test_port_contracts_siak.py: the siak-http civil registry.

Every spec uses `make`, a factory of units of work (`async with make() as uow: ...; await
uow.commit()`), plus what its port needs (a probe that reads what the port cannot, seed data).
Class names do not start with "Test", so pytest collects them only through a concrete subclass.
Where one adapter is known to break the spec, its subclass overrides the test with
`xfail(strict=True)` and says why.
"""

import pytest

pytest.register_assert_rewrite(
    *(
        f"tests.contracts.{name}"
        for name in ("audit", "documents", "hospitals", "inbox", "outbox", "registry", "reviews", "sagas", "support")
    )
)
