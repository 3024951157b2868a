#!/usr/bin/env python3
"""Licence check for CI: no GPL-family licence in the supportbill binary's dependency tree.

Reads `cargo metadata` (licences) and `cargo tree -e normal` (what the binary links: normal
dependencies and proc-macros of the package (the binary and its library), on every target; dev- and build-only crates are not shipped),
prints a summary, and fails when a crate can only be used under GPL, AGPL or LGPL, or declares
no licence at all. An SPDX expression passes when some choice of its OR branches avoids the
GPL family (`MIT OR GPL-2.0` passes; `GPL-2.0 WITH x` and `MIT AND LGPL-3.0` do not).
"""
import collections
import json
import re
import subprocess
import sys

GPL_FAMILY = re.compile(r"^(A|L)?GPL", re.IGNORECASE)


def tokens(expr):
    return re.findall(r"\(|\)|[^\s()]+", expr.replace("/", " OR "))


def acceptable(expr):
    """True when the SPDX expression can be satisfied without a GPL-family licence."""
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def factor():
        if peek() == "(":
            take()
            ok = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced licence expression {expr!r}")
            return ok
        ident = take()
        if peek() == "WITH":
            take()
            take()
        return not GPL_FAMILY.match(ident)

    def conjunction():
        ok = factor()
        while peek() == "AND":
            take()
            ok = factor() and ok
        return ok

    def disjunction():
        ok = conjunction()
        while peek() == "OR":
            take()
            ok = conjunction() or ok
        return ok

    ok = disjunction()
    if pos != len(toks):
        raise ValueError(f"cannot parse licence expression {expr!r}")
    return ok


def main():
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
    licences = {(p["name"], p["version"]): p for p in meta["packages"]}
    tree = subprocess.check_output(
        ["cargo", "tree", "--locked", "-e", "normal", "--target", "all", "--prefix", "none"],
        text=True,
    )
    shipped = set()
    for line in tree.splitlines():
        m = re.match(r"^(\S+) v(\S+)", line)
        if m:
            shipped.add((m.group(1), m.group(2)))

    by_licence = collections.Counter()
    failures = []
    for name, version in sorted(shipped):
        pkg = licences.get((name, version))
        if pkg is None:
            failures.append(f"{name} {version}: not in cargo metadata")
            continue
        expr = pkg.get("license")
        if not expr:
            failures.append(f"{name} {version}: no SPDX licence (license_file: {pkg.get('license_file')})")
            continue
        by_licence[expr] += 1
        if not acceptable(expr):
            failures.append(f"{name} {version}: {expr}")

    print(f"{len(shipped)} crates in the binary's dependency tree, by licence:")
    for expr, n in by_licence.most_common():
        print(f"  {n:4d}  {expr}")
    if failures:
        print("\nNot acceptable (GPL family only, or no licence):")
        for f in failures:
            print(f"  {f}")
        sys.exit(1)
    print("no GPL, AGPL or LGPL-only licence")


if __name__ == "__main__":
    main()
