"""What the project's tests share: helpers no test module should import from another test module."""
