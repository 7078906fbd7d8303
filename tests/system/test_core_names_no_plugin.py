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


def plugin_names():
    names = set()
    for src in (TOP / 'plugins').glob('*/*.c'):
        text = src.read_text(errors='replace')
        for m in re.finditer(r'MOSAIC_PLUGIN\((.*?)\);', text, re.S):
            names.update(re.findall(r'\.name\s*=\s*"([^"]+)"', m.group(1)))
    return names


def builtin_names():
    """Types the core defines itself (built-in descriptors: the machine `none`, the
    `file` and `raw` drivers): their names are the core's own words, even where a plugin
    of another kind shares one (audio-none)."""
    names = set()
    for src in TOP.glob('core/**/*.c'):
        for m in re.finditer(r'MosaicPluginDesc\s+\w+\s*=\s*\{(.*?)\};', src.read_text(errors='replace'), re.S):
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
    names = plugin_names() - builtin_names()
    hits = []
    for path in sorted(TOP.glob('core/**/*.[ch]')):
        rel = str(path.relative_to(TOP))
        if rel in PENDING:
            continue
        for no, line in enumerate(code_of(path).splitlines(), 1):
            for lit in re.findall(r'"([^"\\]*(?:\\.[^"\\]*)*)"', line):
                if lit in names:
                    hits.append(f'{rel}:{no}: "{lit}"')
    assert not hits, 'the core names plugins:\n' + '\n'.join(hits)
