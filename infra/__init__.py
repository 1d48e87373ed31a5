"""The workshop itself: its CloudFormation template, rotation function and deploy code."""
