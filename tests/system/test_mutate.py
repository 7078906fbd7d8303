# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/mutate on a tiny tree (one C program, its scons build and its test): a mutant
the test catches is killed, one it cannot see survives, a stale pattern and one that
does not compile are named and not counted, the score says so, and the tree itself is
never touched."""
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
MUTATE = TOP / 'scripts' / 'mutate'

pytestmark = pytest.mark.needs_tools('scons', 'gcc', 'git')

ADD_C = '''\
int add(int a, int b) { return a + b; }
int unused(void) { return 1; }
int main(void) { return add(2, 2) == 4 ? 0 : 1; }
'''


def mutant(id_, find, replace):
    return textwrap.dedent(f'''\
        [[mutant]]
        id = '{id_}'
        file = 'add.c'
        find = '{find}'
        replace = '{replace}'
        build = ['add']
        tests = ['./add']
        ''')


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / 'tree'
    t.mkdir()
    (t / 'add.c').write_text(ADD_C)
    (t / 'SConstruct').write_text("Program('add', 'add.c')\n")
    (t / '.gitignore').write_text('add\n*.o\n.sconsign.dblite\n')
    for cmd in (['init', '-q'], ['add', '.']):
        subprocess.run(['git', *cmd], cwd=t, check=True, capture_output=True)
    return t


def run(tree, tmp_path, *mutants):
    lst = tmp_path / 'mutants.toml'
    lst.write_text('\n'.join(mutants))
    r = subprocess.run([sys.executable, str(MUTATE), '--top', str(tree), '--list', str(lst)],
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr


def test_killed_survived_stale_stillborn(tree, tmp_path):
    rc, out = run(tree, tmp_path,
                  mutant('sum', 'a + b', 'a - b'),
                  mutant('dead-code', 'return 1;', 'return 2;'),
                  mutant('moved-on', 'a * b', 'a / b'),
                  mutant('broken', 'int unused(void)', 'int unused(void'))
    assert rc == 1, out
    lines = out.splitlines()
    assert any(l.startswith('[1/4] KILLED') and 'sum' in l and './add' in l for l in lines), out
    assert any(l.startswith('[2/4] SURVIVED') and 'dead-code' in l for l in lines), out
    assert any(l.startswith('[3/4] STALE') and 'moved-on' in l for l in lines), out
    assert any(l.startswith('[4/4] STILLBORN') and 'broken' in l for l in lines), out
    assert 'survived: dead-code' in lines, out
    assert lines[-1].startswith('score: 1 of 2 mutants killed (50%)'), out
    assert (tree / 'add.c').read_text() == ADD_C


def test_all_killed_exits_zero(tree, tmp_path):
    rc, out = run(tree, tmp_path, mutant('sum', 'a + b', 'a - b'),
                  mutant('four', '== 4', '== 5'))
    assert rc == 0, out
    assert out.splitlines()[-1].startswith('score: 2 of 2 mutants killed (100%)'), out


def test_baseline_must_pass(tree, tmp_path):
    (tree / 'add.c').write_text(ADD_C.replace('a + b', 'a * b + 1'))
    rc, out = run(tree, tmp_path, mutant('sum', 'a * b', 'a - b'))
    assert rc == 2, out
    assert 'on the unchanged tree, `./add` fails' in out, out


def test_project_list_is_well_formed():
    """scripts/mutants.toml loads, names existing files and tests; whether each `find`
    still matches is for scripts/mutate to report (STALE) when it runs."""
    with open(TOP / 'scripts' / 'mutants.toml', 'rb') as f:
        mutants = tomllib.load(f)['mutant']
    assert len(mutants) >= 30
    assert len({m['id'] for m in mutants}) == len(mutants)
    for m in mutants:
        assert (TOP / m['file']).is_file(), m['id']
        assert m['find'] != m['replace'] and m['tests'] and m['build'], m['id']
