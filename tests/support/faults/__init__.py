"""Ways to break the workshop, each the way one check guards against, by the phase whose checks catch it
(rds, fargate, tls_user, app, audit, template), and workshops AWS accepts that differ from ours (variants).
base.py holds how a fault edits a copy of the workshop folder."""
from tests.support.faults.app import APP_FAULTS, SLOW_APP
from tests.support.faults.audit import AUDIT_FAULTS, DELETION_PROTECTED_FAULT, TEARDOWN_FAULT
from tests.support.faults.base import Fault, Variant
from tests.support.faults.fargate import FARGATE_FAULTS
from tests.support.faults.rds import RDS_FAULTS, SECRET_WITH_USABLE_CUSTOMER_MANAGED_KEY
from tests.support.faults.template import TEMPLATE_FAULTS
from tests.support.faults.tls_user import TLS_USER_FAULTS
from tests.support.faults.variants import ACCEPTED_VARIANTS

__all__ = ["ACCEPTED_VARIANTS", "APP_FAULTS", "AUDIT_FAULTS", "DELETION_PROTECTED_FAULT", "FARGATE_FAULTS",
           "RDS_FAULTS",
           "SECRET_WITH_USABLE_CUSTOMER_MANAGED_KEY", "SLOW_APP", "TEARDOWN_FAULT", "TEMPLATE_FAULTS",
           "TLS_USER_FAULTS", "Fault", "Variant"]
