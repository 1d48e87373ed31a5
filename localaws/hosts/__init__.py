"""The local AWS's hosts: EC2 instances and Fargate tasks as bubblewrap sandboxes, their boot, metadata
service, software, Docker engine and CLI, the images they build, and the ECS agent's half of a task."""
