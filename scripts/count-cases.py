#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count test cases, not test binaries, for scripts/test.sh's summary.

  count-cases.py ctest LASTTEST_LOG [PREFIX]   every test of a ctest run (its LastTest.log)
  count-cases.py output FILE EXIT_CODE NAME    one program's output and exit code

A program's cases are what it reports: Check's "NN%: Checks: N, Failures: F, Errors: E"
lines (every Check test, loop iterations included), "case: NAME: ok|FAILED" lines (shell
tests, lint stages), TAP "ok N"/"not ok N" lines. A program that reports none is one case.
A program that failed (exit code, crash, timeout, sanitizer report at exit) while all its
reported cases passed counts one more failed case, so a failure is never lost.

Prints one line per program ("count: NAME: P passed, F failed") and, last,
"cases: P passed, F failed".
"""
import re
import sys

CHECK = re.compile(r'^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)')
CASE = re.compile(r'^case: (.+): (ok|FAILED)\s*$')
TAP = re.compile(r'^(not )?ok \d+\b')


def count(lines, succeeded):
    passed = failed = 0
    reported = False
    for line in lines:
        m = CHECK.match(line)
        if m:
            n, f, e = (int(x) for x in m.groups())
            passed += n - f - e
            failed += f + e
            reported = True
            continue
        m = CASE.match(line)
        if m:
            if m.group(2) == 'ok':
                passed += 1
            else:
                failed += 1
            reported = True
            continue
        m = TAP.match(line)
        if m:
            if m.group(1):
                failed += 1
            else:
                passed += 1
            reported = True
    if not reported:
        return (1, 0) if succeeded else (0, 1)
    if not succeeded and failed == 0:
        failed = 1
    return passed, failed


def ctest_log(path):
    """(name, output lines, passed?) for each test of a ctest LastTest.log."""
    tests = []
    name, out, inside, header = None, [], False, False
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\n')
            m = re.match(r'^\d+/\d+ Testing: (.+)$', line)
            if m:
                name, out, inside, header = m.group(1), [], False, False
                continue
            if name is None:
                continue
            if line == 'Output:' and not inside:
                header = True
                continue
            if header:
                header = False
                inside = line.startswith('-----')
                continue
            if inside:
                if line == '<end of output>':
                    inside = False
                else:
                    out.append(line)
                continue
            if line.startswith('Test Passed.') or line.startswith('Test Failed.') or \
                    line.startswith('Test time out') or line.startswith('Test Fail'):
                tests.append((name, out, line.startswith('Test Passed.')))
                name = None
    return tests


def main():
    total_p = total_f = 0
    if len(sys.argv) >= 3 and sys.argv[1] == 'ctest':
        prefix = sys.argv[3] if len(sys.argv) > 3 else ''
        for name, out, ok in ctest_log(sys.argv[2]):
            p, f = count(out, ok)
            print(f'count: {prefix}{name}: {p} passed, {f} failed')
            total_p += p
            total_f += f
    elif len(sys.argv) == 5 and sys.argv[1] == 'output':
        with open(sys.argv[2], errors='replace') as f:
            lines = [l.rstrip('\n') for l in f]
        p, f = count(lines, sys.argv[3] == '0')
        print(f'count: {sys.argv[4]}: {p} passed, {f} failed')
        total_p, total_f = p, f
    else:
        sys.exit(__doc__)
    print(f'cases: {total_p} passed, {total_f} failed')


if __name__ == '__main__':
    main()
