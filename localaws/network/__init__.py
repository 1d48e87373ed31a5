"""The local AWS's network: loopback addresses for private and public IPs, AWS's HTTPS endpoints as
code inside sees them, each host's namespace wiring and forwards, endpoint names, and VPC reachability
(whether a flow is allowed by routes, security groups and endpoints)."""
