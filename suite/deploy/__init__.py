"""Deploying a workshop folder: its CloudFormation stack (stack.py) and the packages the stack's
resources load from the deploy's bucket (packaging.py: the rotation function's zip, the bastion's files)."""
