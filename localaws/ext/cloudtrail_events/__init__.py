"""CloudTrail: every API call the local AWS serves becomes an event, as AWS records it.

AWS (CloudTrail user guide; LookupEvents and Event API reference):
- Event history holds each management API call of the account and region, allowed or
  denied. LookupEvents filters on one LookupAttribute and StartTime/EndTime, newest first,
  with MaxResults and NextToken (responses.py). Event times have a one-second resolution.
- An event: EventId, EventName, ReadOnly ("true"/"false"), AccessKeyId, EventTime,
  EventSource (`secretsmanager.amazonaws.com`), Username (the IAM user name, or the role
  session name for an assumed role), Resources, and CloudTrailEvent: the record as JSON.
- The record's userIdentity is IAMUser or AssumedRole (identity.py). A denied call has
  errorCode and errorMessage; Secrets Manager's denials are written `AccessDenied`.
- Never recorded: secret values, passwords (written `****`), secret access keys, session
  tokens, CloudFormation parameter values (records.py). Data events (S3 object operations,
  Lambda Invoke, CloudWatch Logs data) are not in Event history; neither are calls AWS could
  not authenticate (recorder.py).
- A trail delivers, while it is logging, the events of its region its event selectors take
  (selectors.py) to its bucket (models.py).
Kept different on purpose: events can be looked up at once (AWS: up to ~15 minutes);
log files are written when S3 is next used or every 100 events (AWS: about every 5
minutes); AssumeRole's sessionToken (AWS writes it) and CreateStack's template body (it
may hold a literal password) are left out; responseElements keep only identifiers (an
allow-list); no digest files and no service events (RotationSucceeded ...); the calls AWS
services make on the caller's behalf (CloudFormation, Lambda assuming its role) are not
events.
moto 5.2.5 records nothing, has no LookupEvents, its DescribeTrails ignores trailNameList, and
its CreateTrail answers members its output shape does not have.

Laid out as moto lays out a service: identity, records, models (the state, per account and
region), the recorder hooks, responses, exceptions.
"""
from __future__ import annotations

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.responses import BaseResponse
from moto.s3.responses import S3Response

from localaws.ext.cloudtrail_events import recorder, responses, selectors


def install() -> None:
    selectors.install()
    BaseResponse.call_action = recorder.call_action
    S3Response.bucket_response = recorder.bucket_response
    S3Response.key_response = recorder.key_response
    CloudTrailResponse.lookup_events = responses.lookup_events
    CloudTrailResponse.describe_trails = responses.describe_trails
    CloudTrailResponse.create_trail = responses.create_trail
