"""The core names no plugin: no plugin's name (from the descriptors under plugins/)
appears as a string literal in core/.  Defaults come from the board, drivers are found
by capability or URI scheme, commands and sections load their plugin on first use."""
import re
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
# Work of other branches of the same issue, not landed yet: file -> what removes the hit.
PENDING = {
    'core/block/graph.c': 'format probing becomes a driver op (hostile-inputs)',
}
# Plugin names that are also words of the core's own vocabulary, with what they mean
# there: the literal names that, not the plugin.
OWN_WORDS = {
    'socket': 'chardev backend=socket, the monitor\'s and exports\' socket keys '
              '(the plugin is net-socket, selected only by [netdev] type)',
}


def plugin_names():
    names = set()
    for src in (TOP / 'plugins').glob('*/*.c'):
        text = src.read_text(errors='replace')
        for m in re.finditer(r'MOSAIC_PLUGIN\((.*?)\);', text, re.S):
            names.update(re.findall(r'\.name\s*=\s*"([^"]+)"', m.group(1)))
    return names


def code_of(path):
    """The file without comments (string literals kept)."""
    text = path.read_text(errors='replace')
    return re.sub(r'/\*.*?\*/|//[^\n]*', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)


def test_plugins_are_found():
    names = plugin_names()
    assert {'tcg', 'riscv-virt', 'qcow2', 'gdb', 'virtio-blk'} <= names, names


def test_core_names_no_plugin():
    names = plugin_names()
    hits = []
    for path in sorted(TOP.glob('core/**/*.[ch]')):
        rel = str(path.relative_to(TOP))
        if rel in PENDING:
            continue
        for no, line in enumerate(code_of(path).splitlines(), 1):
            for lit in re.findall(r'"([^"\\]*(?:\\.[^"\\]*)*)"', line):
                if lit in names and lit not in OWN_WORDS:
                    hits.append(f'{rel}:{no}: "{lit}"')
    assert not hits, 'the core names plugins:\n' + '\n'.join(hits)
