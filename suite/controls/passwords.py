"""What a rotated database password must be: what the workshop declares (the rotation function's
PASSWORD_LENGTH and EXCLUDE_CHARACTERS) and what RDS accepts.

RDS (CreateDBInstance, MasterUserPassword): "Can include any printable ASCII character except
'/', '"', '@', or a space"; MySQL master passwords are 8 to 41 characters. Above that, a workshop
handing out rotated credentials should never make one under 16 characters, and every password
holds each character class the function may use (lower, upper, digit, punctuation), as
GetRandomPassword's RequireEachIncludedType does. Findings describe a password, never show it.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

RDS_FORBIDDEN = "/\"@ "
NEVER_UNDER = 16
RDS_MYSQL_MAX = 41


@dataclass(frozen=True)
class Declared:
    length: int
    excluded: str

    @classmethod
    def from_function(cls, lambda_client, function_name: str) -> "Declared":
        variables = (lambda_client.get_function_configuration(FunctionName=function_name)
                     .get("Environment", {}).get("Variables", {}))
        return cls(int(variables.get("PASSWORD_LENGTH", "32")), variables.get("EXCLUDE_CHARACTERS", ""))

    def classes(self) -> dict[str, str]:
        """The character classes the function may use, each with its characters."""
        classes = {"lower case": string.ascii_lowercase, "upper case": string.ascii_uppercase,
                   "digit": string.digits, "punctuation": string.punctuation}
        return {name: "".join(c for c in chars if c not in self.excluded) for name, chars in classes.items()}


def describe(password: str) -> str:
    """A password's shape: its length and classes, never a character of it."""
    present = [name for name, chars in (("lower", string.ascii_lowercase), ("upper", string.ascii_uppercase),
                                        ("digit", string.digits), ("punctuation", string.punctuation))
               if any(c in chars for c in password)]
    return f"{len(password)} characters, {', '.join(present) or 'no class'}"


def password_findings(password: str, declared: Declared) -> list[str]:
    findings = []
    wanted = max(declared.length, NEVER_UNDER)
    if len(password) < wanted:
        findings.append(f"{len(password)} characters, under {wanted} (declared {declared.length}, never under "
                        f"{NEVER_UNDER})")
    if len(password) > RDS_MYSQL_MAX:
        findings.append(f"{len(password)} characters, over RDS MySQL's {RDS_MYSQL_MAX}")
    for name, chars in declared.classes().items():
        if chars and not any(c in chars for c in password):
            findings.append(f"no {name} character")
    forbidden = sorted({repr(c) for c in password if c in RDS_FORBIDDEN})
    if forbidden:
        findings.append(f"holds {', '.join(forbidden)}, which RDS refuses in a master password")
    excluded = sorted({repr(c) for c in password if c in declared.excluded})
    if excluded:
        findings.append(f"holds {', '.join(excluded)}, which EXCLUDE_CHARACTERS excludes")
    return findings
