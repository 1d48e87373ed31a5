"""Imported once by the forkserver of tests/support/forked_pytest.py, before it forks any run.

Every boto3 session of a forked run then shares one botocore loader (localaws/shared_data_loader.py) that has
already read the models of the services the suite calls, their endpoints and rules: a run does not read and decode
them again (about 0.2 s of CPU a run; EC2's model alone is 4 MB of JSON). What a loader holds is the same for every
session that has the same data path; the sessions themselves, their configuration and credentials, are the run's.
"""
from __future__ import annotations

import boto3.session

from localaws.server_process import SERVICES
from localaws.shared_data_loader import share_among_boto3_sessions

share_among_boto3_sessions()
_reader = boto3.session.Session(aws_access_key_id="preload", aws_secret_access_key="preload", region_name="us-east-1")
for _service in SERVICES:
    _reader.client(_service)  # reads its model, its endpoint rules and the partitions
del _reader
