# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/nested-kvm/inner_runs.py, the harness of the nested-KVM runs, on this host: an
inner run whose VMM hangs ends at its deadline with an error that names the step it
was waiting for, instead of waiting until the outer guest's budget is gone (then every
later run fails too, with nothing said about the hung one).  The hung VMM is played by
real programs that hang the two ways a VMM can: never opening its monitor socket (a
sleeping process), and accepting monitor connections without ever answering (a
listening socket nobody serves)."""
import json
import os
import subprocess
import sys
import textwrap

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INNER = os.path.join(TOP, 'tests', 'nested-kvm', 'inner_runs.py')


def inner_runs(tmp_path, vmm_script, scenario):
    vmm = tmp_path / 'vmm'
    vmm.write_text('#!/bin/sh\n' + vmm_script)
    vmm.chmod(0o755)
    job = tmp_path / 'job'
    job.mkdir()
    p = subprocess.run([sys.executable, INNER, str(vmm), str(tmp_path), str(job), scenario],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NESTED_RUN_BUDGET='4', NESTED_QMP_DIR=str(tmp_path)))
    assert (job / 'results.json').exists(), p.stdout + p.stderr
    return json.loads((job / 'results.json').read_text())[scenario], p


def test_vmm_that_never_opens_its_monitor_is_ended_naming_the_step(tmp_path):
    r, p = inner_runs(tmp_path, 'exec sleep 600\n', 'dirty1')
    assert 'INNER-RUNS-DONE dirty1:-9' in p.stdout, p.stdout + p.stderr
    assert r['error'].startswith('dirty1: still running after 4 s, waiting for the monitor '
                                 'socket to answer'), r
    assert 'thread ' in r['diagnosis'] and 'sleep' in r['diagnosis'], r['diagnosis']


def test_vmm_whose_monitor_never_answers_is_ended_naming_the_command(tmp_path):
    # The socket accepts (the kernel queues the connection) but nobody writes the QMP
    # greeting: a VMM whose main loop is stuck.
    serve = textwrap.dedent("""
        import socket, sys, time
        s = socket.socket(socket.AF_UNIX)
        s.bind(sys.argv[1])
        s.listen(4)
        time.sleep(600)
    """)
    r, p = inner_runs(tmp_path, f'exec {sys.executable} -c \'{serve}\' {tmp_path}/dirty1.qmp\n',
                      'dirty1')
    assert r['rc'] == -9, r
    assert 'waiting for the monitor socket to answer' in r['error'], r
