"""The App phase's faults (lab B): the web app's secret reading, and the rotation it must survive."""
from __future__ import annotations

from tests.support.faults.base import Fault, edit_template, edit_workshop_file
from tests.support.faults.rds import RDS_FAULTS


def _rotation_role_without_the_apps_secret(template: dict) -> None:
    policies = template["Resources"]["RotationFunctionRole"]["Properties"]["Policies"]
    statements = next(p for p in policies if p["PolicyName"] == "rotate-db-secret")["PolicyDocument"]["Statement"]
    for statement in statements:
        statement["Resource"] = [arn for arn in statement["Resource"] if arn != {"Ref": "AppUserSecret"}]

APP_FAULTS = [
    Fault("app-cache-never-refreshes",
          "the caching variant never reads the secret again when the database refuses the cached password",
          edit_workshop_file("app/web_app.py", "self.cache.refresh_secret_now(self.secret_id)", "pass"),
          ("test_secret_reading_app_stays_connected_through_two_rotations",)),
    Fault("app-get-secret-keeps-its-first-read",
          "the get_secret variant reads the secret on every request but keeps using what it read first",
          edit_workshop_file("app/web_app.py", "check(get_secret(self.secret_id, self.client))",
                             "check(self.__dict__.setdefault('first', get_secret(self.secret_id, self.client)))"),
          ("test_secret_reading_app_stays_connected_through_two_rotations",)),
    Fault("app-reader-swallows-errors",
          "the secret reader returns None on an error it does not handle (AccessDenied), as the lab's original did",
          edit_workshop_file("app/secret_reader.py", "        raise SecretReadError(f\"secret {secret_id}: {details",
                             "        return None\n        raise SecretReadError(f\"secret {secret_id}: {details"),
          ("test_secret_reader_raises_on_access_denied",)),
    Fault("rotation-without-the-previous-fallback",
          "setSecret logs in with AWSCURRENT only, so a secret changed without the database can never be repaired",
          edit_workshop_file("rotation/rotation_function.py", 'for stage in ("AWSCURRENT", "AWSPREVIOUS"):',
                             'for stage in ("AWSCURRENT",):'),
          ("test_secret_changed_without_the_database_disconnects_until_a_rotation",)),
    Fault("rotation-role-without-the-apps-secret",
          "the rotation function's role names smdemo and demouser's secrets but not the app's: its rotations fail",
          edit_template(_rotation_role_without_the_apps_secret),
          ("test_hardcoded_app_is_disconnected_after_rotation",
           "test_secret_reading_app_stays_connected_through_two_rotations"),
          waits=8),  # the runs' rotation timeout: the lab's first rotation never finishes
    Fault("rotation-keeps-the-apps-password",
          "createSecret copies the current password, so the hard-coded app never notices a rotation",
          next(fault.apply for fault in RDS_FAULTS if fault.name == "create-keeps-password"),
          ("test_hardcoded_app_is_disconnected_after_rotation",)),
]

# Not a fault: the get_secret variant as the lab has it, only slower (1.5 s between reading the secret and
# logging in, as one request can take on a loaded machine). The App phase must pass it: what a user saw
# before a change is the answers that came before it, not a request in flight when the change began.
SLOW_APP = Fault("app-get-secret-answers-slowly",
                 "nothing: the get_secret variant takes 1.5 s between reading the secret and logging in",
                 edit_workshop_file("app/web_app.py", "check(get_secret(self.secret_id, self.client))",
                                    "check((lambda read: __import__('time').sleep(1.5) or read)"
                                    "(get_secret(self.secret_id, self.client)))"),
                 ())
