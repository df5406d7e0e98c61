"""End-to-end tests of `imgwatch ref`: the reference parser seen from the CLI.

Runs the binary under test (the `imgwatch_bin` fixture: $IMGWATCH, default
build/asan/imgwatch) on a table of valid and invalid references, in text and
JSON, from arguments and from standard input, and checks output, error lines
and exit codes.  Needs no registry.  Standard input and output are bytes
here, so hostile input (NUL, invalid UTF-8) can be sent as it is.
"""
import json
import subprocess

import pytest

H = "f" * 64
D = "sha256:" + H
D512 = "sha512:" + "e" * 128
IMAGE_ID = "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821"


@pytest.fixture
def run(imgwatch_bin):
    """run(*args, input=None) -> CompletedProcess of `imgwatch ref ARGS`, in bytes."""

    def run_ref(*args, input=None):
        return subprocess.run([imgwatch_bin, "ref", *args], input=input, capture_output=True, timeout=60,
                              check=False)

    return run_ref


def text(cp):
    return cp.stdout.decode(), cp.stderr.decode()


def ref(inp, registry, repository, tag=None, digest=None, familiar=None, implicit=False):
    """The JSON object `imgwatch ref -o json` must print for inp."""
    canonical = registry + "/" + repository
    if tag and not implicit:
        canonical += ":" + tag
    if digest:
        canonical += "@" + digest
    return {
        "input": inp,
        "canonical": canonical,
        "familiar": familiar,
        "registry": registry,
        "apiHost": "registry-1.docker.io" if registry == "docker.io" else registry,
        "repository": repository,
        "tag": tag,
        "digest": digest,
        "implicitTag": implicit,
    }


VALID = [
    ref("nginx", "docker.io", "library/nginx", "latest", familiar="nginx", implicit=True),
    ref("library/nginx", "docker.io", "library/nginx", "latest", familiar="nginx", implicit=True),
    ref("docker.io/nginx", "docker.io", "library/nginx", "latest", familiar="nginx", implicit=True),
    ref("index.docker.io/library/nginx", "docker.io", "library/nginx", "latest", familiar="nginx", implicit=True),
    ref("nginx:1.25", "docker.io", "library/nginx", "1.25", familiar="nginx:1.25"),
    ref("user/app", "docker.io", "user/app", "latest", familiar="user/app", implicit=True),
    ref("localhost/app", "localhost", "app", "latest", familiar="localhost/app", implicit=True),
    ref("localhost:5000/a:1", "localhost:5000", "a", "1", familiar="localhost:5000/a:1"),
    ref("[::1]:5000/a", "[::1]:5000", "a", "latest", familiar="[::1]:5000/a", implicit=True),
    ref("[2001:db8::1]/repo:tag", "[2001:db8::1]", "repo", "tag", familiar="[2001:db8::1]/repo:tag"),
    ref("127.0.0.1:5000/t/green-burrito:latest", "127.0.0.1:5000", "t/green-burrito", "latest",
        familiar="127.0.0.1:5000/t/green-burrito:latest"),
    ref("quay.io/x/y@" + D, "quay.io", "x/y", None, D, familiar="quay.io/x/y@" + D),
    ref("app:1@" + D, "docker.io", "library/app", "1", D, familiar="app:1@" + D),
    ref("ghcr.io/o/app:v1@" + D512, "ghcr.io", "o/app", "v1", D512, familiar="ghcr.io/o/app:v1@" + D512),
    ref("test.com:5000", "docker.io", "library/test.com", "5000", familiar="test.com:5000"),
    ref("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", familiar="lowercase:Uppercase"),
    ref("docker.io/foo.com/app", "docker.io", "foo.com/app", "latest", familiar="docker.io/foo.com/app",
        implicit=True),
    ref("registry.io/foo/project--id.module--name.ver---sion--name", "registry.io",
        "foo/project--id.module--name.ver---sion--name", "latest",
        familiar="registry.io/foo/project--id.module--name.ver---sion--name", implicit=True),
]

INVALID = [
    ("Docker/app", "repository name must be lowercase"),
    ("docker.io/docker/Docker", "repository name must be lowercase"),
    ("", "empty reference"),
    (":justtag", "missing repository name"),
    ("a:", "empty tag after ':'"),
    ("a@", "empty digest after '@'"),
    ("nginx:-x", 'tag "-x": must start with a letter, digit or \'_\''),
    ("nginx:" + "t" * 129, 'tag "' + "t" * 129 + '": longer than 128 characters (it has 129)'),
    ("a@sha256:" + "F" * 64, 'digest "sha256:' + "F" * 64 + '": hex must be lowercase'),
    ("a@sha256:abc", 'digest "sha256:abc": sha256 needs 64 hex characters, got 3'),
    ("a@sha512:" + H, 'digest "sha512:' + H + '": sha512 needs 128 hex characters, got 64'),
    ("a@md5:" + "0" * 32, 'digest "md5:' + "0" * 32 + '": unsupported algorithm "md5" (expected sha256 or sha512)'),
    ("a@sha256:../../etc/passwd", 'digest "sha256:../../etc/passwd": invalid character \'.\' in the hex part'),
    (IMAGE_ID, "an image ID (64 hex characters), not a reference"),
    ("sha256:" + IMAGE_ID, "an image ID (64 hex characters), not a reference"),
    ("docker///docker", "empty path component (a leading, trailing or doubled '/')"),
    ("dock__-er/x", 'path component "dock__-er": invalid separator "__-" (use one \'.\', one or two \'_\', '
     "or any number of '-')"),
    ("test.com:http/x", 'registry host "test.com:http": port "http" must be digits'),
    ("[fe80::1%eth0]:5000/x", 'registry host "[fe80::1%eth0]:5000": invalid character \'%\' in IPv6 address '
     "(only hex digits and ':', no zone)"),
    ("[::1]:5000", "a registry host needs a repository after it, as in [::1]:5000/app"),
    ("fc00::1:5000/debian", 'registry host "fc00::1:5000": more than one \':\' (an IPv6 address must be in '
     "brackets, as in [::1]:5000)"),
    ("a" * 256, "repository name must not be more than 255 characters (it has 264)"),
]


@pytest.mark.parametrize("want", VALID, ids=[v["input"] for v in VALID])
def test_valid_json(run, want):
    cp = run("-o", "json", want["input"])
    out, err = text(cp)
    assert cp.returncode == 0, err
    assert err == ""
    assert json.loads(out) == [want]


@pytest.mark.parametrize("want", VALID, ids=[v["input"] for v in VALID])
def test_valid_text(run, want):
    cp = run(want["input"])
    out, err = text(cp)
    assert cp.returncode == 0, err
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    tag = want["tag"] or "-"
    if want["implicitTag"]:
        tag += " (implicit)"
    assert fields == {
        "input": want["input"],
        "canonical": want["canonical"],
        "familiar": want["familiar"],
        "registry": want["registry"],
        "api-host": want["apiHost"],
        "repository": want["repository"],
        "tag": tag,
        "digest": want["digest"] or "-",
    }
    # The values line up in one column.
    assert all(line[11] == " " and line[12] != " " for line in out.splitlines())


@pytest.mark.parametrize("inp,why", INVALID, ids=[i[:40] or "empty" for i, _ in INVALID])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_invalid(run, inp, why, fmt):
    cp = run("-o", fmt, "--", inp)
    out, err = text(cp)
    assert cp.returncode == 2
    shown = inp if len(inp) <= 256 else inp[:256] + "..."
    assert err == 'imgwatch ref: invalid reference "%s": %s\n' % (shown, why)
    if fmt == "json":
        assert json.loads(out) == []
    else:
        assert out == ""


def test_mixed_prints_valid_and_reports_each_invalid(run):
    cp = run("-o", "json", "nginx", "Docker/app", "quay.io/x/y@" + D, "a@sha256:abc", "redis:7")
    out, err = text(cp)
    assert cp.returncode == 2
    assert [o["input"] for o in json.loads(out)] == ["nginx", "quay.io/x/y@" + D, "redis:7"]
    assert err.splitlines() == [
        'imgwatch ref: invalid reference "Docker/app": repository name must be lowercase',
        'imgwatch ref: invalid reference "a@sha256:abc": digest "sha256:abc": sha256 needs 64 hex characters, got 3',
    ]

    cp = run("nginx", "Docker/app", "redis:7")
    out, err = text(cp)
    assert cp.returncode == 2
    blocks = out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["input       nginx", "input       redis:7"]
    assert len(err.splitlines()) == 1


def test_stdin_lines(run):
    data = b"nginx\n\n   # a comment\n  redis:7  \r\nquay.io/x/y@" + D.encode() + b"\nBad/Name\nlast:1"
    cp = run("-o", "json", "first", "-", "after", input=data)
    out, err = text(cp)
    assert cp.returncode == 2
    assert [o["input"] for o in json.loads(out)] == ["first", "nginx", "redis:7", "quay.io/x/y@" + D, "last:1",
                                                      "after"]
    assert err == 'imgwatch ref: invalid reference "Bad/Name": repository name must be lowercase\n'


def test_stdin_all_valid_exits_zero(run):
    refs = ["app%d:v%d" % (i, i) for i in range(2000)]
    cp = run("-o", "json", "-", input=("\n".join(refs) + "\n").encode())
    out, err = text(cp)
    assert cp.returncode == 0, err
    got = json.loads(out)
    assert [o["input"] for o in got] == refs
    assert got[1999]["canonical"] == "docker.io/library/app1999:v1999"


def test_stdin_hostile_lines(run):
    long_line = b"a" * (64 * 1024 + 1)
    data = b"ok1\n" + long_line + b"\nok2\nnul\x00byte\nok3\n\xff\xfe\n"
    cp = run("-o", "json", "-", input=data)
    out, err = text(cp)
    assert cp.returncode == 2
    assert [o["input"] for o in json.loads(out)] == ["ok1", "ok2", "ok3"]
    assert err.splitlines() == [
        "imgwatch ref: standard input: line 2 is longer than 65536 bytes",
        "imgwatch ref: standard input: line 4 contains a NUL byte",
        'imgwatch ref: invalid reference "\\xff\\xfe": path component "\\xff\\xfe": invalid character byte 0xff',
    ]


def test_stdin_empty(run):
    cp = run("-o", "json", "-", input=b"")
    assert cp.returncode == 0
    assert json.loads(cp.stdout) == []
    cp = run("-", input=b"\n# nothing\n")
    assert cp.returncode == 0
    assert cp.stdout == b""


@pytest.mark.parametrize("args,message", [
    ((), "imgwatch ref: no reference given"),
    (("-o", "yaml", "nginx"), 'imgwatch ref: unknown output format "yaml" (text, json)'),
    (("nginx", "-o"), "imgwatch ref: -o needs a value (text or json)"),
    (("--bogus", "nginx"), 'imgwatch ref: unknown option "--bogus"'),
    (("-", "-"), "imgwatch ref: '-' (standard input) given more than once"),
])
def test_usage_errors(run, args, message):
    cp = run(*args, input=b"")
    out, err = text(cp)
    assert cp.returncode == 2
    assert err.splitlines()[0] == message
    assert out == ""


def test_help(imgwatch_bin):
    for args in (["ref", "--help"], ["help", "ref"], ["ref", "-h"]):
        cp = subprocess.run([imgwatch_bin, *args], capture_output=True, timeout=60, check=False)
        out = cp.stdout.decode()
        assert cp.returncode == 0
        assert out.startswith("Usage: imgwatch ref [-o text|json] REF...\n")
        for section in ("Options:", "Rules:", "Output:", "Exit status:", "Examples:"):
            assert section in out
    cp = subprocess.run([imgwatch_bin, "--help"], capture_output=True, timeout=60, check=False)
    assert "  ref " in cp.stdout.decode()
