# SPDX-License-Identifier: GPL-2.0-or-later
"""`scons install` into a scratch prefix, then the installed programs run from there:
every program, the product plugins and never a test plugin, the shipped machines (which
find kernels in the data directories), man pages that render, bash completion that
offers what the installed mosaic knows, and `scons uninstall` removing exactly what the
manifest lists.

Staged with DESTDIR (the default PREFIX stays, so the build tree is not rebuilt): the
installed mosaic finds its plugins and data beside its bin/ directory."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/usr/local"
PROGRAMS = ["mosaic", "mosaic-ctl", "mosaic-backup"]
PAGES = ["man1/mosaic.1", "man1/mosaic-ctl.1", "man1/mosaic-backup.1",
         "man5/mosaic-machine.ini.5", "man5/mosaic-plugins.ini.5"]


def scons(build, *args):
    cmd = ["scons", "-Q", "-j2", *args] + (["asan=1"] if build.name == "asan" else [])
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def destdir(build, tmp_path_factory):
    dest = tmp_path_factory.mktemp("dest")
    scons(build, "install", f"DESTDIR={dest}", f"PREFIX={PREFIX}")
    return dest


@pytest.fixture(scope="module")
def stage(destdir):
    return destdir / PREFIX.lstrip("/")


def clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MOSAIC_PLUGIN_PATH", "MOSAIC_PLUGINS_CONF", "MOSAIC_DATA_PATH")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"), **extra)
    return env


def run(stage, prog, *args, env, **kw):
    return subprocess.run([str(stage / "bin" / prog), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=60, stdin=subprocess.DEVNULL, **kw)


def test_every_program_is_installed(stage):
    for p in PROGRAMS:
        assert os.access(stage / "bin" / p, os.X_OK), p


def test_installed_mosaic_lists_its_own_plugins(stage, build, tmp_path):
    r = run(stage, "mosaic", "--list-plugins", "--json", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr
    found = {Path(p["path"]).name for p in json.loads(r.stdout)["plugins"] if p["path"]}
    built = {p.name for p in (build / "plugins").glob("mosaic-*.so")}
    assert built and found == built
    plugindir = stage / "lib" / "mosaic" / "1"
    assert all(Path(p["path"]).parent == plugindir
               for p in json.loads(r.stdout)["plugins"] if p["path"])


def test_no_test_plugin_is_installed(destdir, build):
    tests = {p.name for p in (build / "tests").glob("plugins*/**/mosaic-*.so")}
    assert "mosaic-misc-monitor-test.so" in tests
    installed = {p.name for p in destdir.rglob("*.so")}
    assert not tests & installed


def test_installed_tools_run(stage, tmp_path):
    env = clean_env(tmp_path)
    r = run(stage, "mosaic-backup", "--help", env=env)
    assert r.returncode == 0 and "restore" in r.stdout and "--no-checksum" in r.stdout
    r = run(stage, "mosaic-ctl", "--help", env=env)
    assert r.returncode == 0 and "shutdown" in r.stdout
    # A real call: no machine listens there, so it fails with a message and status 1.
    r = run(stage, "mosaic-ctl", tmp_path / "none.sock", "query-status", env=env)
    assert r.returncode == 1 and "mosaic-ctl:" in r.stderr


def test_shipped_machine_boots_from_share(stage, build, tmp_path):
    """The bare-metal machine from share/mosaic/configs runs a guest test program with
    the installed binaries only."""
    config = stage / "share" / "mosaic" / "configs" / "riscv-virt-bare.ini"
    elf = ROOT / "build" / "guests" / "tests" / "rv64i.elf"
    assert elf.is_file(), "scons builds build/guests (gcc-riscv64-unknown-elf)"
    r = run(stage, "mosaic", config, "--set", f"machine.kernel={elf}", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "PASS" in r.stdout


def test_shipped_linux_machine_finds_kernel_in_data_dirs(stage, tmp_path):
    """kernels/NAME of an installed machine file: beside it it does not exist, so the
    data directories are searched, $XDG_DATA_HOME/mosaic first of the defaults."""
    config = stage / "share" / "mosaic" / "configs" / "riscv-virt-linux.ini"
    text = config.read_text()
    assert "../build/" not in text and "kernel = kernels/" in text
    name = next(l.split("=", 1)[1].strip() for l in text.splitlines() if l.startswith("kernel"))
    user = tmp_path / "data" / "mosaic" / name
    user.parent.mkdir(parents=True)
    user.write_bytes(b"\0" * 64)
    env = clean_env(tmp_path)
    r = run(stage, "mosaic", "--dump-config", config, env=env)
    assert r.returncode == 0, r.stderr
    assert f"kernel = {user}" in r.stdout
    # $MOSAIC_DATA_PATH comes first.
    other = tmp_path / "other"
    (other / name).parent.mkdir(parents=True)
    (other / name).write_bytes(b"\0")
    r = run(stage, "mosaic", "--dump-config", config, env=dict(env, MOSAIC_DATA_PATH=str(other)))
    assert f"kernel = {other / name}" in r.stdout
    # Nowhere: the value stays relative to the machine file, and the error says so.
    user.unlink()
    r = run(stage, "mosaic", "--dump-config", config, env=env)
    assert f"kernel = {config.parent / name}" in r.stdout


def test_only_firmware_and_kernels_are_searched(stage, tmp_path):
    """A missing disk image never resolves to a file in a data directory."""
    data = tmp_path / "data" / "mosaic"
    data.mkdir(parents=True)
    (data / "disk.img").write_bytes(b"\0" * 512)
    ini = tmp_path / "vm.ini"
    ini.write_text("[machine]\ntype = none\n[blockdev d]\ndriver = file\nfilename = disk.img\n")
    r = run(stage, "mosaic", "--dump-config", ini, env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"filename = {tmp_path / 'disk.img'}" in r.stdout


@pytest.mark.needs_tools("man")
@pytest.mark.parametrize("page", PAGES)
def test_man_page_renders(stage, page):
    path = stage / "share" / "man" / page
    r = subprocess.run(["man", "--warnings", "-l", str(path)], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"), timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    text = re.sub(".\b", "", r.stdout)  # overstrike bold/underline
    name = Path(page).name.rsplit(".", 1)[0]
    assert text.splitlines()[0].startswith(f"{name}({page[-1]})")
    assert "\nNAME\n" in text and "\nSEE ALSO\n" in text and "\nDESCRIPTION\n" in text


def rendered(stage, page):
    r = subprocess.run(["man", "-l", str(stage / "share" / "man" / page)], capture_output=True,
                       text=True, env=dict(os.environ, MANWIDTH="200"), timeout=60, check=True)
    return re.sub(".\b", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")


def test_machine_page_lists_every_key_describe_prints(stage, tmp_path):
    """mosaic-machine.ini(5) is generated from the tables: every section kind, type and
    key that the installed mosaic describes is on the page."""
    r = run(stage, "mosaic", "--describe", "all", "--json", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    page = rendered(stage, "man5/mosaic-machine.ini.5")
    assert len(d["sections"]) >= 5 and len(d["types"]) >= 10
    for s in d["sections"]:
        assert f"[{s['kind']}" in page, s["kind"]
        for k in s["keys"]:
            assert f"{k['key']} = {k['type']}" in page, (s["kind"], k["key"])
    for t in d["types"]:
        assert f"{t['name']} ({t['kind']})" in page
        for k in t["keys"]:
            assert f"{k['key']} = {k['type']}" in page, (t["name"], k["key"])


def long_options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text))


@pytest.mark.parametrize("prog,page", [("mosaic", "man1/mosaic.1"),
                                       ("mosaic-ctl", "man1/mosaic-ctl.1"),
                                       ("mosaic-backup", "man1/mosaic-backup.1")])
def test_help_and_man_page_agree(stage, tmp_path, prog, page):
    r = run(stage, prog, "--help", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr
    # Options of mosaic named in the other programs' text (mosaic --qmp ...), and
    # --gdb, mosaic(1)'s example of a debug plugin's option, are not their own.
    foreign = {"--qmp", "--list-commands", "--describe", "--daemonize", "--gdb"}
    if prog == "mosaic":
        foreign = {"--gdb"}
    helped = long_options(r.stdout) - foreign
    documented = long_options(rendered(stage, page)) - foreign
    assert len(helped) >= 3
    assert helped == documented, (helped - documented, documented - helped)


@pytest.mark.needs_tools("bash")
def test_bash_completion(stage, tmp_path):
    """The completion, sourced the way bash-completion does, offers the installed
    plugins, section kinds and keys, and control commands."""
    comp = stage / "share" / "bash-completion" / "completions"
    for p in PROGRAMS:
        assert (comp / p).is_file()
    (tmp_path / "vm.ini").write_text("[machine]\ntype = riscv-virt\n"
                                     "[device blk0]\ntype = virtio-blk\ndrive = d\n")
    script = tmp_path / "complete.sh"
    script.write_text(f"""
source /usr/share/bash-completion/bash_completion
source {comp / 'mosaic'}
export PATH={stage / 'bin'}:$PATH
complete_line() {{
    COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
    COMPREPLY=()
    $(complete -p "$1" | sed 's/.*-F \\([^ ]*\\) .*/\\1/') "$1" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    printf '%s\\n' "${{COMPREPLY[@]}}"
}}
echo "== enable"; complete_line mosaic --enable-plugin qc
echo "== set"; complete_line mosaic --set mach
echo "== key"; complete_line mosaic --set machine.mem
echo "== describe"; complete_line mosaic --describe virt
echo "== label"; complete_line mosaic {tmp_path / 'vm.ini'} --set device.
echo "== typekey"; complete_line mosaic {tmp_path / 'vm.ini'} --set device.blk0.dr
echo "== ctl"; complete_line mosaic-ctl /tmp/x.sock query-st
echo "== arg"; complete_line mosaic-ctl /tmp/x.sock backup-pull-start dev
""")
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120,
                       env=clean_env(tmp_path))
    out = {}
    for block in r.stdout.split("== ")[1:]:
        name, *lines = block.strip("\n").split("\n")
        out[name] = set(lines)
    assert "qcow2" in out["enable"], r.stdout + r.stderr
    assert "machine." in out["set"], r.stdout
    assert "machine.memory=" in out["key"], r.stdout
    assert "virtio-blk" in out["describe"], r.stdout
    assert out["label"] == {"device.blk0."}, r.stdout
    assert "device.blk0.drive=" in out["typekey"], r.stdout  # a key of the type virtio-blk
    assert "query-status" in out["ctl"], r.stdout
    assert "device=" in out["arg"], r.stdout


def test_uninstall_removes_exactly_the_manifest(build, tmp_path):
    dest = tmp_path / "dest"
    scons(build, "install", f"DESTDIR={dest}", f"PREFIX={PREFIX}")
    stage = dest / PREFIX.lstrip("/")
    manifest = stage / "share" / "mosaic" / "install-manifest.txt"
    listed = {l for l in manifest.read_text().splitlines() if l}
    present = {"/" + str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir()}
    assert listed == present
    # Somebody else's file in a shared directory stays.
    other = stage / "share" / "man" / "man1" / "other.1"
    other.write_text("x")
    scons(build, "uninstall", f"DESTDIR={dest}", f"PREFIX={PREFIX}")
    left = [p for p in dest.rglob("*") if not p.is_dir()]
    assert left == [other]
    # Mosaic's own directories are gone; the shared ones (bin/, man/man1/) are not ours.
    dirs = {str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_dir()}
    assert not [d for d in dirs if "mosaic" in d], dirs
    assert "bin" in dirs and "share/man/man1" in dirs


@pytest.mark.slow
@pytest.mark.linux
def test_installed_linux_machine_boots_with_kernel_from_data_dir(stage, tmp_path):
    """The shipped Linux machine, run from share/mosaic/configs by the installed mosaic,
    with the test kernel put where the README says: ~/.local/share/mosaic/kernels."""
    import sys
    sys.path.insert(0, str(ROOT / "guests" / "pylib"))
    import mosaic_guests as g
    linux = g.ensure_linux()
    config = stage / "share" / "mosaic" / "configs" / "riscv-virt-linux.ini"
    name = next(l.split("=", 1)[1].strip() for l in config.read_text().splitlines()
                if l.startswith("kernel"))
    dest = tmp_path / "data" / "mosaic" / name
    dest.parent.mkdir(parents=True)
    shutil.copy(linux / Path(name).name, dest)
    r = subprocess.run([str(stage / "bin" / "mosaic"), str(config)], capture_output=True,
                       text=True, env=clean_env(tmp_path), timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "MOSAIC-INIT-OK" in r.stdout and "MOSAIC-POWEROFF" in r.stdout
