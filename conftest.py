"""Root conftest: the suite's fixtures live in suite/ (see suite/fixtures.py)."""
pytest_plugins = ["suite.fixtures"]
