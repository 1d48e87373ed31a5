"""What a security reviewer checks: the template read as YAML (`template`), IAM policy
statements (`policy`), and the deployed account read through boto3 (`deployed`)."""
