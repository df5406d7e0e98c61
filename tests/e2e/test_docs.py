"""Keep the documentation honest: the man page and docs/*.md against the binary.

The list of subcommands and each one's long options come from the binary
under test ($IMGWATCH, default build/asan/imgwatch): `imgwatch --help` and
`imgwatch help CMD`.  Every subcommand must have a section in
docs/imgwatch.1, and every long option it prints must appear both in the man
page and in that command's user document (docs/<area>.md, mapped below).
The man page must render without warnings from groff and man, and
`make install` with DESTDIR must install the binary and a page that man can
open.  Adding a subcommand without documenting it, or an option without
describing it, fails here.
"""
import os
import re
import shutil
import subprocess

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN_PAGE = os.path.join(REPO_ROOT, "docs", "imgwatch.1")

# Which user document describes each subcommand.  A new subcommand must be
# added here (the test below fails until it is).
DOC_FOR = {
    "assess": "assess.md",
    "list": "kube.md",
    "resolve": "registry.md",
    "ref": "reference.md",
    "verify-store": "node.md",
    "pin": "pin.md",
    "serve": "serve.md",
    "help": None,
    "version": None,
}

LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, **kw)


def commands(imgwatch_bin):
    """The subcommand names `imgwatch --help` lists under "Commands:"."""
    r = run([imgwatch_bin, "--help"])
    assert r.returncode == 0, r.stderr
    names, inside = [], False
    for line in r.stdout.splitlines():
        if line.startswith("Commands:"):
            inside = True
        elif inside and not line.strip():
            break
        elif inside:
            names.append(line.split()[0])
    assert names, "no commands found in:\n" + r.stdout
    return names


def long_options(text):
    return sorted(set(LONG_OPTION.findall(text)))


def man_source():
    with open(MAN_PAGE, encoding="utf-8") as f:
        return f.read()


def man_text():
    """The man page as plain text (hyphens and quotes as ASCII)."""
    r = run(["man", "-E", "ascii", "-l", MAN_PAGE], env=dict(os.environ, MANWIDTH="100", MANPAGER="cat",
                                                              PAGER="cat"))
    assert r.returncode == 0, r.stderr
    return re.sub(r".\x08", "", r.stdout)


def man_section_titles(source):
    """The .SS titles inside the COMMANDS section."""
    titles, inside = [], False
    for line in source.splitlines():
        if line.startswith(".SH "):
            inside = line[4:].strip().strip('"') == "COMMANDS"
        elif inside and line.startswith(".SS "):
            titles.append(line[4:].strip().strip('"'))
    return titles


@pytest.fixture(scope="module")
def cmds(imgwatch_bin):
    return commands(imgwatch_bin)


@pytest.fixture(scope="module")
def rendered():
    return man_text()


def test_docs__every_command_is_mapped_to_a_document(cmds):
    unmapped = [c for c in cmds if c not in DOC_FOR]
    assert not unmapped, "add these commands to DOC_FOR in %s: %s" % (__file__, unmapped)


def test_docs__man_page_has_a_section_for_every_command(cmds, rendered):
    titles = man_section_titles(man_source())
    synopsis = rendered.split("\nSYNOPSIS\n", 1)[1].split("\nDESCRIPTION\n", 1)[0]
    for c in cmds:
        assert c in titles, "docs/imgwatch.1 has no .SS %s under COMMANDS (it has: %s)" % (c, titles)
        assert re.search(r"^ +imgwatch %s(?: |$)" % re.escape(c), synopsis, re.M), \
            "SYNOPSIS has no line for imgwatch %s" % c


@pytest.mark.parametrize("cmd", sorted(k for k in DOC_FOR))
def test_docs__help_exits_zero(imgwatch_bin, cmd):
    r = run([imgwatch_bin, "help", cmd])
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout or "imgwatch" in r.stdout


def test_docs__every_long_option_is_in_the_man_page_and_the_document(imgwatch_bin, cmds, rendered):
    missing = []
    global_opts = long_options(run([imgwatch_bin, "--help"]).stdout)
    for opt in global_opts:
        if opt not in rendered:
            missing.append("man page: global option %s" % opt)
    for c in cmds:
        r = run([imgwatch_bin, "help", c])
        assert r.returncode == 0, r.stderr
        opts = long_options(r.stdout)
        doc = DOC_FOR.get(c)
        doc_text = ""
        if doc:
            with open(os.path.join(REPO_ROOT, "docs", doc), encoding="utf-8") as f:
                doc_text = f.read()
        section = man_command_section(rendered, c)
        for opt in opts:
            if c in ("help", "version") and opt in global_opts:
                continue
            if not re.search(re.escape(opt) + r"(?![a-z0-9-])", section):
                missing.append("man page, section %s: %s" % (c, opt))
            if doc and not re.search(re.escape(opt) + r"(?![a-z0-9-])", doc_text):
                missing.append("docs/%s: %s %s" % (doc, c, opt))
    assert not missing, "undocumented options:\n  " + "\n  ".join(missing)


def man_command_section(rendered, cmd):
    """The rendered text of the COMMANDS subsection whose title starts with cmd."""
    lines = rendered.splitlines()
    out, inside, in_commands = [], False, False
    for line in lines:
        if re.match(r"^[A-Z][A-Z -]+$", line):
            in_commands = line.strip() == "COMMANDS"
            inside = False
            continue
        if in_commands and re.match(r"^   \S", line):
            inside = line.split()[0] == cmd
            continue
        if inside:
            out.append(line)
    assert out, "no rendered section for %s" % cmd
    return "\n".join(out)


def test_docs__checks_are_documented_with_their_severity(rendered):
    # Default severities as lib/check/check.c, lib/runtime and lib/server set them.
    expected = {
        "integrity-unknown": "critical", "integrity-stale": "high", "digest-drift": "high",
        "untrusted-registry": "high", "tag-missing": "high", "unverified": "medium",
        "pull-policy": "medium", "moving-tag": "low", "image-id-reference": "high",
        "store-corrupt": "critical", "store-mismatch": "critical", "tag-rollback": "high",
    }
    checks = rendered.split("\nCHECKS\n", 1)[1].split("\nCONFIGURATION\n", 1)[0]
    for name, sev in expected.items():
        m = re.search(r"^ {7}%s \(([a-z, /]+)\)" % re.escape(name), checks, re.M)
        assert m, "CHECKS lacks %s" % name
        assert sev in m.group(1), "%s: %s, expected %s" % (name, m.group(1), sev)
    with open(os.path.join(REPO_ROOT, "lib", "config", "config.c"), encoding="utf-8") as f:
        known = re.search(r"known_checks\[\] = \{(.*?)\}", f.read(), re.S).group(1)
    for name in re.findall(r'"([a-z-]+)"', known):
        assert re.search(r"\b%s\b" % re.escape(name), checks), "CHECKS does not mention %s" % name


def test_docs__environment_variables_read_by_the_code_are_documented(rendered):
    env = rendered.split("\nENVIRONMENT\n", 1)[1].split("\nFILES\n", 1)[0]
    names = set()
    for root in ("lib", "src"):
        for dirpath, _, files in os.walk(os.path.join(REPO_ROOT, root)):
            for fn in files:
                if fn.endswith(".c"):
                    with open(os.path.join(dirpath, fn), encoding="utf-8") as f:
                        text = f.read()
                    names.update(re.findall(r'getenv \("([A-Z_]+)"\)', text))
                    names.update(re.findall(r'"(IMGWATCH_[A-Z_]+)"', text))
    assert "KUBECONFIG" in names
    for n in sorted(names):
        assert re.search(r"\b%s\b" % n, env), "ENVIRONMENT lacks %s" % n


@pytest.mark.parametrize("wrong,suggested", [("asess", "assess"), ("verfy-store", "verify-store"),
                                             ("lsit", "list")])
def test_docs__help_of_a_near_miss_suggests_the_command(imgwatch_bin, wrong, suggested):
    r = run([imgwatch_bin, "help", wrong])
    assert r.returncode == 2
    assert r.stdout == ""
    assert 'unknown command "%s"' % wrong in r.stderr
    assert re.search(r"Did you mean this\?\n\t%s\n" % re.escape(suggested), r.stderr), r.stderr


def test_docs__help_of_an_unknown_command_exits_2_without_a_suggestion(imgwatch_bin):
    r = run([imgwatch_bin, "help", "nosuch"])
    assert r.returncode == 2
    assert 'unknown command "nosuch"' in r.stderr
    assert "Did you mean" not in r.stderr


def test_docs__man_page_renders_without_groff_warnings():
    r = run(["groff", "-man", "-ww", "-z", MAN_PAGE])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_docs__man_page_renders_without_man_warnings():
    r = run(["man", "--warnings", "-E", "UTF-8", "-l", MAN_PAGE],
            env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert "imgwatch" in r.stdout


def test_docs__man_page_lines_fit_80_columns():
    r = run(["man", "-E", "ascii", "-l", MAN_PAGE], env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                                              PAGER="cat"))
    assert r.returncode == 0, r.stderr
    long_lines = [line for line in re.sub(r".\x08", "", r.stdout).splitlines() if len(line) > 80]
    assert not long_lines, "lines wider than 80 columns:\n" + "\n".join(long_lines)


def test_docs__make_install_installs_binary_and_man_page(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dest = tmp_path / "root"
    r = run(["make", "--no-print-directory", "-C", REPO_ROOT, "install", "PREFIX=/opt/iw",
             "DESTDIR=%s" % dest], env=dict(os.environ, MAKEFLAGS=""))
    assert r.returncode == 0, r.stdout + r.stderr
    binary = dest / "opt/iw/bin/imgwatch"
    page = dest / "opt/iw/share/man/man1/imgwatch.1"
    assert os.access(binary, os.X_OK)
    assert (page.stat().st_mode & 0o777) == 0o644
    v = run([str(binary), "--version"])
    assert v.returncode == 0 and v.stdout.startswith("imgwatch "), v.stdout + v.stderr
    with open(page, encoding="utf-8") as f:
        assert f.read() == man_source()
    m = run(["man", "-l", str(page)], env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    assert m.returncode == 0, m.stderr
    assert "imgwatch - prove every running container" in re.sub(r".\x08", "", m.stdout).replace("\u2010", "-")
    # And through MANPATH, the way users read it.
    m = run(["man", "imgwatch"], env=dict(os.environ, MANPATH=str(dest / "opt/iw/share/man"), MANWIDTH="80",
                                          MANPAGER="cat", PAGER="cat"))
    assert m.returncode == 0, m.stderr
    assert "SYNOPSIS" in re.sub(r".\x08", "", m.stdout)
