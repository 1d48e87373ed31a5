"""The local AWS: a pinned moto server made to behave like AWS where the suite looks.

`python -m localaws` starts one on its own; the suite starts it through `service.LocalAWS`
(`server_process.py` is the server process: moto plus every extension of `ext/`).

Which extension drives which part:
- `ext/` modules hook moto (one AWS behaviour each, stated in its docstring; `tests/fidelity/` shows it);
  the parts below do the work they start:
- `hosts/`: EC2 instances (`ext/ec2_hosts.py`) and Fargate tasks (`ext/ecs_tasks.py` → `hosts/task_agent.py`,
  `hosts/awslogs_driver.py`) as bubblewrap sandboxes (`hosts/sandbox.py`): boot, metadata, software, the
  Docker engine and CLI (`ext/ec2_images.py`, `ext/ecr_*.py` for the images they push and pull).
- `network/`: each host's namespace wired to what its VPC allows (`ext/host_network_wiring.py`,
  `ext/cfn_security_group_egress.py` → `network/host_wiring.py`, `network/reachability.py`).
- `functions/`: Lambda's execution environments (`ext/lambda_runtime*.py`, `ext/lambda_execution_role.py`,
  and `ext/cfn_custom_resources.py`, whose providers answer CloudFormation at a presigned S3 URL:
  `ext/cfn_response_bucket.py`).
- `database/`: the database server standing in for RDS (`database/server.py` and its MySQL front,
  driven by `ext/rds_databases.py`).
- top level: processes that die with the server (`processes.py`), system tools, certificates (the RDS CA and
  the HTTPS endpoints'), access keys and service roles (`ext/iam_enforcement.py`), resource policies,
  the TCP relay, machinery failures the suite reads as `NOT RUN: environment`, and reads of moto's resources
  made again when another thread changed them meanwhile (`live_state.py`).
"""
