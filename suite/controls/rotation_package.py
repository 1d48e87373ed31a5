"""The rotation function's package against the runtime the template declares for it, before any deploy.

Lambda loads the handler's module from the package (the zip `suite.deploy.packaging.build_rotation_zip`
builds) and the runtime: the Python standard library of its version and the AWS SDK the Python
runtimes ship (boto3, botocore and their dependencies). A module found in neither fails every
invocation with `Runtime.ImportModuleError: Unable to import module '<handler module>': No module
named '<module>'`; a syntax the runtime's Python does not know fails with `Runtime.UserCodeSyntaxError`.

Every import of the function's own modules counts, those inside functions too (they fail at the
call instead of at load, during a rotation), except those guarded by `try: ... except ImportError`.
Relative imports are inside the package. The grammar is the runtime's (`ast.parse(feature_version=)`);
a runtime newer than this interpreter is read with this interpreter's grammar, and the report says so.
"""
from __future__ import annotations

import ast
import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localaws.functions.sandbox import RUNTIME_LIBRARIES

# What the Lambda Python runtimes ship beside the standard library: the local AWS's runtime gives exactly these.
RUNTIME_PACKAGES = frozenset(RUNTIME_LIBRARIES)
# Standard-library modules gone in a later Python than this interpreter may be (PEP 594, PEP 632).
REMOVED_IN = {
    (3, 12): {"distutils", "imp", "asynchat", "asyncore", "smtpd"},
    (3, 13): {"aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis", "nntplib",
              "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "lib2to3"},
}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class Problem:
    error: str  # what AWS will say: Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound
    message: str
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.error}: {self.message}"


@dataclass
class Report:
    runtime: str
    version: tuple[int, int] | None
    grammar: str  # which Python's grammar read the code, and why
    package: list[str]  # the zip's files
    imports: list[tuple[str, str, str]] = field(default_factory=list)  # (module, file:line, found in)
    problems: list[Problem] = field(default_factory=list)


def python_version(runtime: str) -> tuple[int, int] | None:
    """python3.12 -> (3, 12); None for a runtime that is not Python."""
    found = re.fullmatch(r"python(\d+)\.(\d+)", runtime or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def stdlib_of(version: tuple[int, int]) -> set[str]:
    names = set(sys.stdlib_module_names)
    for removed_in, removed in REMOVED_IN.items():
        if version >= removed_in:
            names -= removed
    return names


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside the body of a `try` one of whose handlers catches ImportError (or broader)."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                caught = handler.type
                names = [caught] if not isinstance(caught, ast.Tuple) else list(caught.elts)
                if caught is None or any(isinstance(n, ast.Name) and n.id in IMPORT_ERRORS for n in names):
                    return True
        child, parent = parent, parents.get(parent)
    return False


def imports_of(tree: ast.AST) -> list[tuple[str, int]]:
    """(top-level module, line) of every absolute import, wherever it is, unless guarded."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        if not _guarded(node, parents):
            found += [(module.split(".")[0], node.lineno) for module in modules]
    return sorted(found, key=lambda item: item[1])


def package_modules(names: list[str]) -> set[str]:
    """The top-level modules a zip's files provide: `x.py` -> x, `pkg/...` -> pkg."""
    modules = set()
    for name in names:
        first = name.split("/", 1)[0]
        if "/" in name:
            modules.add(first)
        elif first.endswith(".py"):
            modules.add(first[:-3])
    return modules


def check(source_dir: Path, runtime: str, handler: str, package: bytes, root: Path) -> Report:
    """The function's own modules (source_dir/*.py) against its package (the zip's bytes) and its runtime."""
    version = python_version(runtime)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
    here = sys.version_info[:2]
    if version is None:
        grammar = f"{runtime!r} is not a Python runtime: the code was not read"
    elif version > here:
        grammar = f"{runtime}'s grammar is newer than this interpreter's: Python {here[0]}.{here[1]}'s stood in"
    else:
        grammar = f"Python {version[0]}.{version[1]}'s grammar ({runtime})"
    report = Report(runtime, version, grammar, names)
    if version is None:
        report.problems.append(Problem("Runtime", f"the rotation function's Runtime {runtime!r} is not a Python "
                                                  f"runtime, and its code is Python", "workshop/template.yaml"))
        return report
    bundled = package_modules(names)
    standard = stdlib_of(version)
    trees, files = {}, {}
    for path in sorted(source_dir.glob("*.py")):
        relative = files[path.stem] = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        try:
            trees[path.stem] = ast.parse(path.read_text(encoding="utf-8"), str(path),
                                         feature_version=min(version, here))
        except SyntaxError as error:
            report.problems.append(Problem("Runtime.UserCodeSyntaxError", f"{error.msg} (read as {grammar})",
                                           f"{relative}:{error.lineno}"))
            continue
        for module, line in imports_of(trees[path.stem]):
            where = f"{relative}:{line}"
            if module in bundled:
                place = "the package"
            elif module in standard:
                place = f"{runtime}: standard library"
            elif module in RUNTIME_PACKAGES:
                place = f"{runtime}: the AWS SDK the runtime ships"
            else:
                place = "NOT FOUND"
                report.problems.append(Problem(
                    "Runtime.ImportModuleError",
                    f"Unable to import module '{handler.rsplit('.', 1)[0]}': No module named '{module}' "
                    f"(neither in the package nor in {runtime})", where))
            report.imports.append((module, where, place))
    module, _, function = handler.rpartition(".")
    if f"{module}.py" not in names and module not in trees:
        report.problems.append(Problem("Runtime.ImportModuleError",
                                       f"Unable to import module '{module}': No module named '{module}' "
                                       f"(the Handler {handler!r} names no file of the package)",
                                       "workshop/template.yaml"))
    elif module in trees and not _defines(trees[module], function):
        report.problems.append(Problem("Runtime.HandlerNotFound",
                                       f"{module}.{function} is undefined or not exported",
                                       f"{files[module]}:1"))
    return report


def _defines(tree: ast.AST, name: str) -> bool:
    body: list[Any] = getattr(tree, "body", [])
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False
