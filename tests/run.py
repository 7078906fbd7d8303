#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs the whole suite and ends with one line: "N passed, N failed, N skipped".

1. unit tests (GTest, TAP) of both builds: build/release and build/asan (ASan+UBSan);
2. system and interop tests (pytest) against the release build;
3. the same system and interop tests again against the ASan+UBSan build.

The two pytest halves start first and run at the same time, each on --jobs pytest-xdist
workers (a test file is the unit a worker takes, longest first: tests/conftest.py); the
unit tests run meanwhile.  Each half's output is shown, whole, when it ends.  Tests
marked `alone` (they measure rates or counts that the host's load changes) run after
both halves, one at a time, release then ASan.

--quick: the release build only (unit, system, interop), without the tests that boot
Linux (pytest marker `linux`).

Only results seen in this run count.  A unit program passes when its TAP plan (`1..N`)
is met exactly, each case once, and it exits 0; a GLib `ok N # SKIP` is a skip.  A pytest
run counts from the JUnit report it wrote in this run, and only when its exit status
agrees with that report; a pytest that died (exit 2..5, or no fresh report) is a failure.
The run fails when anything failed or nothing passed.
"""
import argparse
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
PYTEST = ['/usr/bin/python3', '-m', 'pytest']
UNIT_TIMEOUT = 600
# LeakSanitizer runs at the exit of every ASan program (a leak makes it exit 23).
# intercept_tls_get_addr=0: GCC 12's libasan can record a bogus TLS block and crash in
# the leak check (core/main.c says more); programs other than mosaic need it too.
ASAN_LEAKS = 'detect_leaks=1:intercept_tls_get_addr=0'
# What a system library holds on purpose at exit: each line with its reason.
LSAN_SUPPRESSIONS = f'suppressions={TOP}/tests/lsan.supp:print_suppressions=0'

TAP_PLAN = re.compile(r'^1\.\.(\d+)\s*(?:#.*)?$')
TAP_RESULT = re.compile(r'^(not ok|ok)\b\s*(\d+)?(.*?)(?:\s#\s*(SKIP|TODO)\S*\s*(.*))?$', re.I)


class Totals:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.skips = []

    def fail(self, what):
        self.failed += 1
        self.failures.append(what)

    def skip(self, what):
        self.skipped += 1
        self.skips.append(what)

    def line(self):
        return f'{self.passed} passed, {self.failed} failed, {self.skipped} skipped'


def parse_tap(out, rc, name, totals):
    """Counts one unit program's TAP output; returns the number of problems found."""
    plan, seen = None, set()
    before = totals.failed

    for line in out.splitlines():
        if m := TAP_PLAN.match(line):
            if plan is not None:
                totals.fail(f'{name}: a second TAP plan "{line}"')
            plan = int(m.group(1))
        elif line.startswith('Bail out!'):
            totals.fail(f'{name}: {line}')
        elif m := TAP_RESULT.match(line):
            verdict, num, desc, directive, reason = m.groups()
            verdict = verdict.lower()
            num = int(num) if num else len(seen) + 1
            if num in seen:
                totals.fail(f'{name}: case {num} reported twice')
            seen.add(num)
            directive = (directive or '').upper()
            desc = desc.strip() or f'case {num}'
            if verdict == 'not ok':
                # A TODO failure (g_test_incomplete) is unfinished work, not a pass.
                totals.fail(f'{name}: {line}')
            elif directive == 'SKIP':
                totals.skip(f'{name}: {desc}: {(reason or "").strip() or "no reason given"}')
            elif directive == 'TODO':
                totals.fail(f'{name}: {desc}: passed but marked TODO: {(reason or "").strip()}')
            else:
                totals.passed += 1
    if plan is None:
        totals.fail(f'{name}: no TAP plan (1..N): did it start at all?')
    else:
        missing = sorted(set(range(1, plan + 1)) - seen)
        extra = sorted(n for n in seen if n > plan or n < 1)
        if missing:
            totals.fail(f'{name}: planned {plan} cases, {len(missing)} never reported '
                        f'(first: {missing[0]}): the program stopped early')
        if extra:
            totals.fail(f'{name}: case {extra[0]} outside the plan 1..{plan}')
    if rc != 0 and totals.failed == before:
        totals.fail(f'{name}: exit status {rc} after passing every case it reported')
    return totals.failed - before


def run_unit(variant, totals):
    d = TOP / 'build' / variant / 'tests' / 'unit'
    env = dict(os.environ, ASAN_OPTIONS=f'{ASAN_LEAKS}:abort_on_error=1',
               LSAN_OPTIONS=LSAN_SUPPRESSIONS,
               UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1', MOSAIC_VARIANT=variant)
    for prog in sorted(d.glob('test-*')):
        if not os.access(prog, os.X_OK) or prog.suffix:
            continue
        try:
            p = subprocess.run([str(prog), '--tap'], cwd=TOP, env=env, capture_output=True,
                               stdin=subprocess.DEVNULL, text=True, timeout=UNIT_TIMEOUT)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
            err, rc = f'timed out after {UNIT_TIMEOUT} s', -1
        name = f'{variant}/{prog.name}'
        counts = (totals.passed, totals.skipped)
        bad = parse_tap(out, rc, name, totals)
        passed, skipped = totals.passed - counts[0], totals.skipped - counts[1]
        status = 'ok' if not bad else 'FAILED'
        print(f'unit {name}: {passed} passed, {bad} failed, {skipped} skipped [{status}]',
              flush=True)
        if bad:
            sys.stdout.write(out[-4000:])
            sys.stdout.write(err[-4000:])


def count_junit(xml, rc, label, totals):
    """Counts a JUnit report written by this run's pytest (exit status rc)."""
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as e:
        totals.fail(f'pytest {label}: unreadable report {xml}: {e}')
        return
    failed_before = totals.failed
    for case in root.iter('testcase'):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find('failure') is not None or case.find('error') is not None:
            totals.fail(f'{label}: {name}')
        elif (s := case.find('skipped')) is not None:
            totals.skip(f'{label}: {name}: {s.get("message", "no reason given")}')
        else:
            totals.passed += 1
    failed = totals.failed - failed_before
    # pytest's exit status: 0 all passed, 1 some failed, 2 interrupted, 3 internal
    # error, 4 usage error, 5 nothing collected.  Anything but an agreeing 0 or 1 fails.
    if rc == 1 and not failed:
        totals.fail(f'pytest {label}: exit status 1 but its report lists no failure')
    elif rc not in (0, 1):
        totals.fail(f'pytest {label}: exit status {rc} (2 interrupted, 3 internal error, '
                    f'4 usage error, 5 no tests collected): see its output above')
    elif rc == 0 and failed:
        totals.fail(f'pytest {label}: exit status 0 but its report lists {failed} failures')


class PytestHalf:
    """One pytest run (a half of the suite), started in the background; its output goes
    to build/pytest-LABEL.log and is shown when it ends."""

    def __init__(self, variant, args, label, jobs, may_select_none=False):
        self.label = label
        # The `alone` pass: that no test is marked so is no failure (pytest's exit 5).
        self.may_select_none = may_select_none
        self.xml = TOP / 'build' / f'pytest-{label}.xml'
        self.log = TOP / 'build' / f'pytest-{label}.log'
        self.xml.parent.mkdir(parents=True, exist_ok=True)
        # A report left by an earlier run must never be read as this run's.
        self.xml.unlink(missing_ok=True)
        env = dict(os.environ, MOSAIC_VARIANT=variant, ASAN_OPTIONS=ASAN_LEAKS,
                   LSAN_OPTIONS=LSAN_SUPPRESSIONS,
                   UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1')
        parallel = ['-n', str(jobs), '--dist', 'loadfile'] if jobs > 1 else []
        cmd = (PYTEST + ['-q', '-rfEs', '-p', 'no:cacheprovider', '--durations=15',
                         f'--junitxml={self.xml}'] + parallel + args)
        self.args = ' '.join(parallel + args)
        self.started = time.time()
        with open(self.log, 'w') as log:
            self.proc = subprocess.Popen(cmd, cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)

    def finish(self, totals):
        rc = self.proc.wait()
        took = time.time() - self.started
        print(f'\npytest [{self.label}]: {self.args} ({took:.0f} s)', flush=True)
        sys.stdout.write(self.log.read_text(errors='replace'))
        sys.stdout.flush()
        if not self.xml.exists() or self.xml.stat().st_mtime < self.started - 1:
            totals.fail(f'pytest {self.label}: exit status {rc} and no report from this run '
                        f'({self.xml})')
            return
        if rc == 5 and self.may_select_none and not any(ET.parse(self.xml).getroot().iter('testcase')):
            return
        count_junit(self.xml, rc, self.label, totals)


def default_jobs():
    if os.environ.get('MOSAIC_TEST_JOBS'):
        return int(os.environ['MOSAIC_TEST_JOBS'])
    return os.cpu_count() or 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', help='pytest -k expression (system/interop only)')
    ap.add_argument('--no-asan', action='store_true', help='skip the ASan+UBSan build')
    ap.add_argument('--unit-only', action='store_true', help='unit tests only')
    ap.add_argument('--quick', action='store_true',
                    help='release build only, no test that boots Linux')
    ap.add_argument('--jobs', type=int, default=default_jobs(),
                    help='pytest-xdist workers per pytest half (1: no xdist; default: '
                         '$MOSAIC_TEST_JOBS, else the number of CPUs)')
    a = ap.parse_args()
    totals = Totals()
    variants = ['release'] + ([] if a.no_asan or a.quick else ['asan'])
    halves = []
    paths = ['tests/system', 'tests/interop']
    select = (['-k', a.k] if a.k else [])
    marks = 'not linux' if a.quick else ''

    def where(mark):
        return ['-m', f'({marks}) and {mark}' if marks else mark]

    if not a.unit_only:
        halves = [PytestHalf(v, paths + select + where('not alone'), v, a.jobs)
                  for v in variants]
    for v in variants:
        run_unit(v, totals)
    for h in halves:
        h.finish(totals)
    if not a.unit_only:
        for v in variants:
            PytestHalf(v, paths + select + where('alone'), f'{v}-alone', 1,
                       may_select_none=True).finish(totals)
    if totals.skips:
        print('\nSkipped (a missing optional host facility):')
        for s in totals.skips:
            print('  ' + s)
    if totals.failures:
        print('\nFailures:')
        for f in totals.failures:
            print('  ' + f)
    print(totals.line())
    return 1 if totals.failed or totals.passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
