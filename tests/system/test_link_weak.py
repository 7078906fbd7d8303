# SPDX-License-Identifier: GPL-2.0-or-later
"""The core and the plugins link with no weak references of our own: a function the core
needs is either linked or the link fails, never a NULL pointer answering "not supported"
at run time.  Checked on the objects (where a weak reference shows even when the final
library resolves it) and on the linked libraries."""
import subprocess
from pathlib import Path

WEAK = {"w", "W", "v", "V"}


def weak_symbols(paths):
    """(file, symbol) of every weak symbol in `paths` whose name is ours: the toolchain's
    and the sanitizers' own start with '_' (__gmon_start__, _ITM_*, __cxa_finalize,
    __asan_*), ours never do."""
    r = subprocess.run(["nm", "-A", "-P", *map(str, paths)],
                       capture_output=True, text=True, check=True)
    found = []
    for line in r.stdout.splitlines():
        # "FILE[MEMBER]: NAME TYPE [VALUE SIZE]"
        where, _, rest = line.rpartition(": ")
        fields = rest.split()
        if len(fields) >= 2 and fields[1] in WEAK and not fields[0].startswith("_"):
            found.append((where, fields[0]))
    return found


def our_binaries(build):
    core = [build / "core" / "libmosaic-core.so", build / "core" / "libmosaic-core-internal.a"]
    plugins = sorted((build / "plugins").glob("*.so")) + sorted((build / "plugins").glob("*/*.os"))
    assert all(p.exists() for p in core), "build the core first"
    assert plugins, f"no plugins in {build / 'plugins'}"
    return core + plugins


def test_no_weak_references(build):
    assert weak_symbols(our_binaries(build)) == []


def test_detects_a_weak_reference(tmp_path):
    """The check above can fail: a `#pragma weak` reference like the ones the monitor
    used to hold is found."""
    src = tmp_path / "glue.c"
    src.write_text("void machine_pause(void *m);\n#pragma weak machine_pause\n"
                   "void stop(void *m) { if (machine_pause) machine_pause(m); }\n")
    obj = tmp_path / "glue.o"
    subprocess.run(["gcc", "-c", "-o", obj, src], check=True)
    assert weak_symbols([obj]) == [(str(obj), "machine_pause")]
