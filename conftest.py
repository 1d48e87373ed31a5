"""Root conftest: the suite's fixtures (suite/fixtures.py), secret masking (suite/redaction.py) and the
instructor report: each check's `evidence` (suite/report/evidence.py), the run's facts (suite/report/runfacts.py),
the verdict and phase table on top of the HTML report (suite/report/plugin.py)."""
pytest_plugins = [
    "suite.scratch",  # where the run keeps its files: in memory when there is room
    "suite.interrupts",
    "suite.redaction",
    "suite.preflight",
    "suite.early_start",  # before suite.fixtures, which imports it
    "suite.template_tools",
    "suite.account_changes",
    "suite.multi_target",
    "suite.shared_local_aws",  # --accounts: the run's one local AWS
    "suite.fixtures",
    "suite.rotations",
    "suite.beside",  # work a later phase needs, started beside the phases before it
    "suite.fargate",
    "suite.app_lesson",  # lab B, beside the RDS, Fargate and TLS user phases when it has a secret of its own
    "suite.report.evidence",
    "suite.report.runfacts",
    "suite.report.plugin",
    "suite.heap",
]
