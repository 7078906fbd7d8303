#!/usr/bin/env python3
"""Runs the whole suite and ends with one line: "N passed, N failed".

1. unit tests (GTest, TAP) of both builds: build/release and build/asan (ASan+UBSan);
2. system and interop tests (pytest) against the release build;
3. the same system and interop tests again against the ASan+UBSan build.
"""
import argparse
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
PYTEST = ['/usr/bin/python3', '-m', 'pytest']


def run_unit(variant, totals, failures):
    d = TOP / 'build' / variant / 'tests' / 'unit'
    env = dict(os.environ, ASAN_OPTIONS='detect_leaks=0:abort_on_error=1',
               UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1', MOSAIC_VARIANT=variant)
    for prog in sorted(d.glob('test-*')):
        if not os.access(prog, os.X_OK) or prog.suffix:
            continue
        try:
            p = subprocess.run([str(prog), '--tap'], cwd=TOP, env=env, capture_output=True, stdin=subprocess.DEVNULL,
                               text=True, timeout=600)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
            err, rc = 'timed out after 600 s', -1
        ok = len(re.findall(r'^ok \d+', out, re.M))
        bad = re.findall(r'^not ok \d+.*$', out, re.M)
        name = f'{variant}/{prog.name}'
        if rc != 0 and not bad:
            bad = [f'exit status {rc}']
        totals['passed'] += ok
        totals['failed'] += len(bad)
        for b in bad:
            failures.append(f'{name}: {b}')
        status = 'ok' if not bad else 'FAILED'
        print(f'unit {name}: {ok} passed, {len(bad)} failed [{status}]', flush=True)
        if bad:
            sys.stdout.write(out[-4000:])
            sys.stdout.write(err[-4000:])


def run_pytest(variant, args, totals, failures, label):
    xml = TOP / 'build' / f'pytest-{label}.xml'
    env = dict(os.environ, MOSAIC_VARIANT=variant,
               ASAN_OPTIONS='detect_leaks=0', UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1')
    cmd = PYTEST + ['-q', '-rfE', '-p', 'no:cacheprovider', f'--junitxml={xml}'] + args
    print(f'pytest [{label}]: {" ".join(args)}', flush=True)
    subprocess.run(cmd, cwd=TOP, env=env)
    if not xml.exists():
        totals['failed'] += 1
        failures.append(f'pytest {label}: no report')
        return
    root = ET.parse(xml).getroot()
    for case in root.iter('testcase'):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find('failure') is not None or case.find('error') is not None:
            totals['failed'] += 1
            failures.append(f'{label}: {name}')
        elif case.find('skipped') is not None:
            totals['skipped'] += 1
        else:
            totals['passed'] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('-k', help='pytest -k expression (system/interop only)')
    ap.add_argument('--no-asan', action='store_true')
    ap.add_argument('--unit-only', action='store_true')
    a = ap.parse_args()
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    failures = []
    variants = ['release'] + ([] if a.no_asan else ['asan'])
    for v in variants:
        run_unit(v, totals, failures)
    if not a.unit_only:
        extra = ['-k', a.k] if a.k else []
        run_pytest('release', ['tests/system', 'tests/interop'] + extra, totals, failures, 'release')
        if not a.no_asan:
            run_pytest('asan', ['tests/system', 'tests/interop'] + extra, totals, failures, 'asan')
    if failures:
        print('\nFailures:')
        for f in failures:
            print('  ' + f)
    skipped = f", {totals['skipped']} skipped" if totals['skipped'] else ''
    print(f"{totals['passed']} passed, {totals['failed']} failed{skipped}")
    return 1 if totals['failed'] or totals['passed'] == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
