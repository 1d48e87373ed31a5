"""The private RDS instance the fidelity tests share (tests/fidelity/conftest.py makes it): its master user."""
MASTER, PASSWORD = "admin", "Before-Rotation-Passw0rd"
ENGINE_VERSION = "8.0.46"  # the workshop's (workshop/template.yaml)
