"""Root conftest: the suite's fixtures (suite/fixtures.py) and secret masking (suite/redaction.py)."""
pytest_plugins = ["suite.redaction", "suite.fixtures"]
