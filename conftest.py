"""Root conftest: the suite's fixtures (suite/fixtures.py), secret masking (suite/redaction.py) and the
instructor report: each check's `evidence` (suite/evidence.py), the run's facts (suite/runfacts.py),
the verdict and phase table on top of the HTML report (suite/report.py)."""
pytest_plugins = [
    "suite.redaction",
    "suite.fixtures",
    "suite.rotations",
    "suite.fargate",
    "suite.evidence",
    "suite.runfacts",
    "suite.report",
]
