#!/usr/bin/env python3
"""Extract the command-line flags of Gatekeeper's manager, per release, from its git history.

Usage:
    scripts/extract-gatekeeper-bool-flags.py GIT_DIR [--range v3.17.0..HEAD] [--output FILE]

GIT_DIR is a Gatekeeper checkout or bare clone (open-policy-agent/gatekeeper). For every
release tag from the range's start (pre-releases of later versions included) and for the
range's end commit, it reads the flags the manager binary registers on Go's global FlagSet:
``flag.Bool``/``flag.BoolVar``/``flag.BoolFunc`` (booleans: they never take the next
argument) and every other ``flag.X`` definition (values: they always do). Sources scanned:
``main.go`` and ``pkg/`` without tests, plus the vendored dependencies known to register
global flags in ``init`` (glog, controller-runtime's client config) when a tag vendors them;
for tags without ``vendor/`` those dependency flags are carried from the last tag that had
it (the modules still register them: glog's ``logtostderr`` is in the chart's args).

It writes ``sweeper/core/gatekeeper_flags.py``: every flag name with its type (``bool``,
``value``, or ``mixed`` when releases disagree) and the first and last ref that define it.
The sweeper reads arguments with the union of every release (``sweeper.core.manager_args``).
Run it again when Gatekeeper releases; commit its output, never the fetched source.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

BOOL_FUNCS = {"Bool", "BoolVar", "BoolFunc"}
VALUE_FUNCS = {
    "String",
    "StringVar",
    "Int",
    "IntVar",
    "Int64",
    "Int64Var",
    "Uint",
    "UintVar",
    "Uint64",
    "Uint64Var",
    "Float64",
    "Float64Var",
    "Duration",
    "DurationVar",
    "Var",
    "Func",
    "TextVar",
}
DEFINITION = re.compile(
    r"\bflag\.(?P<func>" + "|".join(sorted(BOOL_FUNCS | VALUE_FUNCS)) + r")\("
    r"\s*(?:[^,\"()]+(?:\([^()]*\))?\s*,\s*)?(?P<name>\"[^\"]+\"|[A-Za-z_][\w.]*)"
)
# Helpers that wrap flag.Var with the flag name as a parameter: (type, argument index).
WRAPPERS = {"registerSynchronizedStringFlag": ("value", 0)}
WRAPPER_CALL = re.compile(r"\b(?P<func>" + "|".join(WRAPPERS) + r")\((?P<args>[^)]*)\)")
PATHS = ["main.go", "pkg/", ":!*_test.go", ":!pkg/**/testdata/**"]
VENDORED = [
    "vendor/github.com/golang/glog/",
    "vendor/sigs.k8s.io/controller-runtime/pkg/client/config/",
]
VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)\.(\d+))?")
STAGES = {"alpha": 0, "beta": 1, "rc": 2, None: 3}


def git(git_dir: str, *args: str) -> str:
    """git's output; ``git grep`` finding nothing (exit 1) is an empty answer."""
    done = subprocess.run(["git", "-C", git_dir, *args], capture_output=True, text=True)
    if done.returncode not in (0, 1) or (done.returncode == 1 and args[0] != "grep"):
        sys.exit(f"error: git {' '.join(args[:3])}...: {done.stderr.strip()}")
    return done.stdout


def semver_key(tag: str) -> tuple[int, ...] | None:
    match = VERSION.fullmatch(tag)
    if match is None:
        return None
    major, minor, patch, stage, number = match.groups()
    return (int(major), int(minor), int(patch), STAGES[stage], int(number or 0))


def refs_in_range(git_dir: str, start: str, end: str) -> list[tuple[str, str]]:
    """(label, ref) of every release tag at or after ``start`` (release tags live on release
    branches, so all of them, not only those merged into ``end``), in version order, then
    ``end`` itself."""
    floor = semver_key(start)
    if floor is None:
        sys.exit(f"error: {start!r} is not a release tag")
    tags = git(git_dir, "tag").split()
    tags = sorted((t for t in tags if (k := semver_key(t)) and k >= floor), key=semver_key)
    return [(tag, tag) for tag in tags] + [(end, end)]


def constants(git_dir: str, ref: str) -> dict[str, str]:
    """Go string constants and variables ``Name = "literal"`` in the scanned sources."""
    out = git(git_dir, "grep", "-h", "-E", r'^\s*\w+\s*(string\s*)?=\s*"[^"]*"', ref, "--", *PATHS)
    found = {}
    for line in out.splitlines():
        name, _, value = line.strip().partition("=")
        found[name.split()[0]] = value.strip().strip('"')
    return found


def flags_of(git_dir: str, ref: str, vendored: bool) -> tuple[dict[str, str], list[str]]:
    """The flags one ref registers: name -> "bool" or "value"; and what could not be read."""
    paths = PATHS + (VENDORED if vendored else [])
    out = git(git_dir, "grep", "-n", "-E", r"\bflag\.\w+\(|IsBoolFlag", ref, "--", *paths)
    names = constants(git_dir, ref)
    found: dict[str, str] = {}
    unread = []
    for line in out.splitlines():  # "REF:path:number:code"
        code = line.split(":", 3)[-1]
        if "IsBoolFlag" in code:
            unread.append(f"{ref}: a flag.Value with IsBoolFlag: {line}")
            continue
        for match in DEFINITION.finditer(code):
            name = match["name"]
            name = name.strip('"') if name.startswith('"') else names.get(name.split(".")[-1])
            if name is None:
                if "func " not in code and not _wrapped(code):
                    unread.append(f"{ref}: {line.strip()}")
                continue
            found[name] = "bool" if match["func"] in BOOL_FUNCS else "value"
    # A wrapper's call may span lines: read a few lines after each match, as one text.
    wrappers = "|".join(WRAPPERS)
    text = git(git_dir, "grep", "-h", "-A4", "-E", rf"\b({wrappers})\(", ref, "--", *PATHS)
    for match in WRAPPER_CALL.finditer(text):
        if text[: match.start()].rstrip().endswith("func"):
            continue  # the helper's own definition
        kind, index = WRAPPERS[match["func"]]
        argument = match["args"].split(",")[index].strip()
        name = argument.strip('"') if argument.startswith('"') else names.get(argument)
        if name is not None:
            found[name] = kind
    return found, unread


def _wrapped(code: str) -> bool:
    """A flag.Var inside a wrapper helper (resolved at its call sites instead)."""
    return "flag.Var(flagValue, name" in code


def extract(git_dir: str, start: str, end: str) -> tuple[list[str], dict, list[str]]:
    refs = refs_in_range(git_dir, start, end)
    table: dict[str, dict] = {}
    problems: list[str] = []
    dependency_flags: dict[str, str] = {}
    for label, ref in refs:
        vendored = bool(git(git_dir, "ls-tree", "--name-only", ref, "vendor").strip())
        found, unread = flags_of(git_dir, ref, vendored)
        problems += unread
        if vendored:
            dependency_flags = {
                name: kind
                for name, kind in flags_of_vendor_only(git_dir, ref).items()
                if name not in found or found[name] == kind
            }
        for name, kind in dependency_flags.items():
            found.setdefault(name, kind)
        for name, kind in found.items():
            entry = table.setdefault(name, {"types": set(), "first": label, "last": label})
            entry["types"].add(kind)
            entry["last"] = label
    return [label for label, _ in refs], table, problems


def flags_of_vendor_only(git_dir: str, ref: str) -> dict[str, str]:
    out = git(git_dir, "grep", "-n", "-E", r"\bflag\.\w+\(", ref, "--", *VENDORED)
    found = {}
    for line in out.splitlines():
        for match in DEFINITION.finditer(line):
            if match["name"].startswith('"'):
                kind = "bool" if match["func"] in BOOL_FUNCS else "value"
                found[match["name"].strip('"')] = kind
    # controller-runtime registers --kubeconfig through RegisterFlags(flag.CommandLine).
    if "RegisterFlags(flag.CommandLine)" in git(
        git_dir, "grep", "-h", "RegisterFlags", ref, "--", VENDORED[1]
    ):
        found["kubeconfig"] = "value"
    return found


def render(git_dir: str, refs: list[str], table: dict) -> str:
    origin = "open-policy-agent/gatekeeper"
    lines = [
        f'"""The flags of Gatekeeper\'s manager in every release from {refs[0]} to {refs[-1]}.',
        "",
        "Generated by scripts/extract-gatekeeper-bool-flags.py from a checkout of",
        f"{origin}: flag.Bool/BoolVar/BoolFunc define a bool, every other flag.X",
        "definition a value; mixed: a bool in some releases and a value in others. Do not",
        'edit by hand: run the script again when Gatekeeper releases. Pure data."""',
        "",
        "from __future__ import annotations",
        "",
        f'SOURCE = "{origin}"',
        f'HEAD_COMMIT = "{git(git_dir, "rev-parse", refs[-1]).strip()}"  # the last ref below',
        "# Every ref read, in version order; the last is the branch head it was run against.",
        "REFS = (",
        *(f'    "{ref}",' for ref in refs),
        ")",
        "",
        "# flag name -> (type, first ref that defines it, last ref that defines it)",
        "FLAGS: dict[str, tuple[str, str, str]] = {",
    ]
    for name in sorted(table):
        entry = table[name]
        kind = next(iter(entry["types"])) if len(entry["types"]) == 1 else "mixed"
        lines.append(f'    "{name}": ("{kind}", "{entry["first"]}", "{entry["last"]}"),')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("git_dir", help="a Gatekeeper checkout or bare git directory")
    parser.add_argument("--range", default="v3.17.0..HEAD", help="START_TAG..END (a ref)")
    parser.add_argument(
        "--output",
        default=str(Path(__file__).resolve().parent.parent / "sweeper/core/gatekeeper_flags.py"),
    )
    options = parser.parse_args()
    start, _, end = options.range.partition("..")
    refs, table, problems = extract(options.git_dir, start, end or "HEAD")
    for problem in problems:
        print(f"warning: not read: {problem}", file=sys.stderr)
    Path(options.output).write_text(render(options.git_dir, refs, table))
    bools = sum(1 for entry in table.values() if entry["types"] == {"bool"})
    print(f"{len(refs)} refs, {len(table)} flags ({bools} bool) -> {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
