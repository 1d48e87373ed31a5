"""Writes the parse tables of checkov's parsers into its virtualenv, once: run by scripts/setup.sh with
`.venv-checkov/bin/python`, never imported by the suite.

checkov parses its graph checks' JSONPath expressions with bc_jsonpath_ng, which builds its PLY parser anew for
every expression and never writes PLY's tables ("we regenerate the parse table every time; it doesn't actually
take that long!"): 25 times per scan of the workshop's template, 3.4 of checkov's 6.5 CPU-seconds on 2 cores.
PLY reads a table module beside the parser's package when there is one whose grammar signature matches, and
builds the tables as before when there is none or it does not match: the scan's findings are the same either
way (compared with and without: the same 123 results).
Its HCL parser (lark, imported at every start) keeps its grammar in a cache file in the temporary folder; built, it
costs 2 s of every scan. It is built here into checkov's own temporary folder (`.venv-checkov/tmp`, the TMPDIR its
scans get: suite/controls/static_scan.py), so no scan writes into the machine's /tmp.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import ply.yacc
from bc_jsonpath_ng import parser as plain
from bc_jsonpath_ng.ext import parser as extended

# The table module bc_jsonpath_ng names ("<its parser module>_<start symbol>_parsetab"), in each parser's package.
TABLE_MODULE, START = "parser_jsonpath_parsetab", "jsonpath"


def main() -> None:
    # checkov's own temporary folder, beside its interpreter's bin/ (static_scan.CHECKOV_TEMP), for lark's cache.
    tempfile.tempdir = str(Path(sys.prefix) / "tmp")
    os.makedirs(tempfile.tempdir, exist_ok=True)
    import hcl2.parser  # noqa: F401  # builds lark's grammar cache at import
    for module, parser in ((plain, plain.JsonPathParser), (extended, extended.ExtentedJsonPathParser)):
        # Reads the tables when they are there and current; builds and writes them when not.
        ply.yacc.yacc(module=parser(), tabmodule=TABLE_MODULE, outputdir=os.path.dirname(module.__file__),
                      write_tables=True, start=START, debug=False, errorlog=logging.getLogger(__name__))


if __name__ == "__main__":
    main()
