"""Lambda in the local AWS: the bootstrap inside an execution environment, warm environments,
what a function may reach, and the sandbox its code runs in."""
