"""Build OCI images with umoci and push them with skopeo.

OCI(workdir).build(...) makes a one-layer image in a fresh OCI layout
(umoci init/new/unpack/repack/config); unless files are given, the layer holds
a random nonce so every image is different.  push() copies it to a registry
with `skopeo copy --digestfile`; push_index() pushes one image per platform by
digest and PUTs an OCI image index over them.
"""

import concurrent.futures
import hashlib
import itertools
import json
import os
import pathlib
import secrets
import shutil
import subprocess

from . import registry as reg

# A real static binary to put in images: files={"/bin/busybox": BUSYBOX}.
BUSYBOX = pathlib.Path("/bin/busybox")

_counter = itertools.count(1)

_FORMATS = {"oci": "oci", "v2s2": "v2s2", "docker": "v2s2"}


class Image:
    """A built image in a local OCI layout.

    layout: "oci:<dir>:<tag>", usable as a skopeo source.  dir, tag, arch,
    os, variant, labels, files (the dict used), created, digest (manifest
    digest in the layout; skopeo preserves the manifest, so it is also the
    digest a push gives), config_digest, platform ("linux/amd64", or
    "linux/arm/v7" when a variant is set).
    """

    def __init__(self, directory, tag, arch, os_, variant, labels, files, created):
        self.dir = directory
        self.tag = tag
        self.layout = "oci:%s:%s" % (directory, tag)
        self.arch = arch
        self.os = os_
        self.variant = variant
        self.labels = dict(labels or {})
        self.files = files
        self.created = created
        self.digest = None
        self.config_digest = None
        self.manifest = None

    @property
    def platform(self):
        p = "%s/%s" % (self.os, self.arch)
        return p + "/" + self.variant if self.variant else p

    def blob(self, digest):
        """Bytes of a blob in the layout."""
        algo, _, hexd = digest.partition(":")
        with open(os.path.join(self.dir, "blobs", algo, hexd), "rb") as f:
            return f.read()

    def _load(self):
        with open(os.path.join(self.dir, "index.json")) as f:
            index = json.load(f)
        for m in index["manifests"]:
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == self.tag:
                self.digest = m["digest"]
        if self.digest is None:
            raise RuntimeError("tag %s not in %s/index.json" % (self.tag, self.dir))
        self.manifest = json.loads(self.blob(self.digest))
        self.config_digest = self.manifest["config"]["digest"]

    def config(self):
        """The image configuration as a dict."""
        return json.loads(self.blob(self.config_digest))

    def __repr__(self):
        return "<Image %s %s %s>" % (self.layout, self.platform, self.digest)


def _run(argv, what=None, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s%s" % (what or " ".join(argv), r.returncode,
                                                          r.stderr.strip(), r.stdout.strip()))
    return r


def _write_files(root, files):
    for path, content in files.items():
        rel = path.lstrip("/")
        if not rel or ".." in pathlib.PurePosixPath(rel).parts:
            raise ValueError("bad image path %r" % path)
        dst = os.path.join(root, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if isinstance(content, pathlib.Path):
            shutil.copy2(str(content), dst)
        else:
            data = content.encode() if isinstance(content, str) else bytes(content)
            with open(dst, "wb") as f:
                f.write(data)
            os.chmod(dst, 0o644)


class OCI:
    """Image builder and pusher working under workdir (a per-test temp dir)."""

    def __init__(self, workdir):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.auth_file = os.path.join(workdir, "auth.json")
        with open(self.auth_file, "w") as f:
            f.write('{"auths": {}}\n')
        self.env = dict(os.environ, REGISTRY_AUTH_FILE=self.auth_file)
        self.last_index = None

    def build(self, files=None, labels=None, arch="amd64", os="linux", created=None,
              variant=None, entrypoint=None, cmd=None, env=None):
        """Build a one-layer image and return an Image.

        files: {"/path/in/image": str | bytes | pathlib.Path (copied)}; when
        None, a small file plus a random nonce (so content is unique).
        labels: config labels.  arch/os/variant: the config platform.
        created: RFC 3339 string for the config's created field.
        entrypoint/cmd: lists of strings; env: {"K": "V"}.
        """
        n = next(_counter)
        base = _unique_dir(self.workdir, "img%d" % n)
        layout = _path_join(base, "layout")
        bundle = _path_join(base, "bundle")
        tag = "latest"
        if files is None:
            files = {
                "/etc/imgwatch-test": "built by the imgwatch e2e fixtures\n",
                "/iw/nonce": secrets.token_hex(16) + "\n",
            }
        ref = "%s:%s" % (layout, tag)
        _run(["umoci", "init", "--layout", layout])
        _run(["umoci", "new", "--image", ref])
        _run(["umoci", "unpack", "--rootless", "--image", ref, bundle])
        _write_files(_path_join(bundle, "rootfs"), files)
        _run(["umoci", "repack", "--image", ref, bundle])
        cfg = ["umoci", "config", "--image", ref, "--no-history",
               "--architecture", arch, "--os", os]
        for k, v in (labels or {}).items():
            cfg += ["--config.label", "%s=%s" % (k, v)]
        if created:
            cfg += ["--created", created]
        for e in entrypoint or []:
            cfg += ["--config.entrypoint", e]
        for c in cmd or []:
            cfg += ["--config.cmd", c]
        for k, v in (env or {}).items():
            cfg += ["--config.env", "%s=%s" % (k, v)]
        _run(cfg)
        if variant:
            _set_variant(layout, tag, variant)
        shutil.rmtree(bundle, ignore_errors=True)
        img = Image(layout, tag, arch, os, variant, labels, files, created)
        img._load()
        return img

    def _dest_flags(self, host, creds, ca):
        flags = []
        if ca:
            flags.append("--dest-cert-dir=" + _cert_dir(self.workdir, ca))
        else:
            known = reg.KNOWN.get(host)
            if known is None or not known.url.startswith("https:"):
                flags.append("--dest-tls-verify=false")
        if creds:
            user, password = reg._split_creds(creds)
            flags.append("--dest-creds=%s:%s" % (user, password))
        return flags

    def push(self, image, ref, creds=None, ca=None, format=None):
        """Copy image (an Image or a skopeo source string) to docker://ref; return the digest.

        ref: "127.0.0.1:PORT/repo:tag" or ".../repo@sha256:...".  creds:
        "user:pass" or (user, pass).  ca: CA file (or a cert dir) for TLS
        registries; without it, plain HTTP is allowed.  format: None keeps
        the OCI manifest (the digest is then image.digest), "v2s2" (or
        "docker") converts to a Docker schema 2 manifest.  Raises RuntimeError
        with skopeo's message on failure.
        """
        src = image.layout if isinstance(image, Image) else image
        host = ref.split("/", 1)[0]
        digest_file = _unique_dir(self.workdir, "push") + ".digest"
        argv = ["skopeo", "--insecure-policy", "copy", "--quiet", "--retry-times=2",
                "--digestfile", digest_file]
        if format:
            argv.append("--format=" + _FORMATS[format])
        argv += self._dest_flags(host, creds, ca) + [src, "docker://" + ref]
        _run(argv, what="skopeo copy %s docker://%s" % (src, ref), env=self.env)
        with open(digest_file) as f:
            return f.read().strip()

    def to_docker(self, image):
        """Convert image to a Docker schema 2 manifest in a dir: layout.

        Returns (skopeo source "dir:...", manifest digest).
        """
        d = _unique_dir(self.workdir, "v2s2")
        _run(["skopeo", "--insecure-policy", "copy", "--quiet", "--format=v2s2",
              image.layout, "dir:" + d], env=self.env)
        with open(os.path.join(d, "manifest.json"), "rb") as f:
            return "dir:" + d, "sha256:" + hashlib.sha256(f.read()).hexdigest()

    def push_index(self, images, ref, creds=None, ca=None, format="oci", attestations=False):
        """Push images by digest under ref's repository and PUT an index as ref.

        Returns (index_digest, {"linux/amd64": child_digest, ...}); the index
        digest is the sha256 of the exact bytes PUT.  With images=None, builds
        a linux/amd64 and a linux/arm64 image first.  format "oci" makes an
        OCI image index of OCI manifests; "docker" a Docker manifest list of
        schema 2 manifests.  attestations=True (OCI only) adds, per image, a
        BuildKit-style attestation manifest with platform unknown/unknown; they
        are not in the returned dict but in self.last_index["attestations"]
        ({platform: digest}).  self.last_index also holds "digest", "body"
        (bytes PUT), "media_type" and "children".
        """
        if images is None:
            images = [self.build(arch="amd64"), self.build(arch="arm64")]
        if format not in ("oci", "docker"):
            raise ValueError("index format must be oci or docker, not %r" % format)
        if attestations and format != "oci":
            raise ValueError("attestations need an OCI index")
        host, repo, tag = reg.split_ref(ref)
        client = reg.client_for(host, creds=creds, ca=_ca_file(ca))
        children = {}
        atts = {}
        descriptors = []

        def push_child(img, platform, annotations=None):
            src, want = (img.layout, img.digest) if format == "oci" else self.to_docker(img)
            digest = self.push(src, "%s/%s@%s" % (host, repo, want), creds=creds, ca=ca)
            body, media_type, got = reg.get_manifest(client, repo, digest)
            if got != digest or digest != want:
                raise RuntimeError("pushed %s (wanted %s) but registry has %s"
                                   % (digest, want, got))
            desc = {"mediaType": media_type, "digest": digest, "size": len(body),
                    "platform": platform}
            if annotations:
                desc["annotations"] = annotations
            descriptors.append(desc)
            return digest

        for img in images:
            platform = {"architecture": img.arch, "os": img.os}
            if img.variant:
                platform["variant"] = img.variant
            children[img.platform] = push_child(img, platform)
        if attestations:
            for img in images:
                att = self.build(arch="unknown", os="unknown", files={
                    "/attestation.json": json.dumps({
                        "_type": "https://in-toto.io/Statement/v0.1",
                        "subject": [{"digest": {"sha256": children[img.platform][7:]}}],
                        "nonce": secrets.token_hex(8)})})
                atts[img.platform] = push_child(
                    att, {"architecture": "unknown", "os": "unknown"},
                    {"vnd.docker.reference.digest": children[img.platform],
                     "vnd.docker.reference.type": "attestation-manifest"})
        media_type = reg.MT_OCI_INDEX if format == "oci" else reg.MT_DOCKER_LIST
        index = {"schemaVersion": 2, "mediaType": media_type, "manifests": descriptors}
        body = json.dumps(index, indent=2).encode()
        digest = reg.put_manifest(client, repo, tag, body, media_type)
        assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
        self.last_index = {"digest": digest, "body": body, "media_type": media_type,
                           "children": dict(children), "attestations": atts}
        return digest, children

    def retag(self, ref, tags, distinct=False, creds=None, ca=None):
        """PUT the manifest ref names under more tags of the same repository, fast.

        With distinct=True each copy gets an annotation naming its tag, so
        every tag has its own digest (same blobs).  Returns {tag: digest}.
        Meant for making hundreds of tags quickly (benchmarks).
        """
        host, repo, tail = reg.split_ref(ref)
        client = reg.client_for(host, creds, _ca_file(ca))
        body, media_type, digest = reg.get_manifest(client, repo, tail)
        doc = json.loads(body) if distinct else None

        def put(t):
            b = body
            if distinct:
                d = dict(doc)
                d["annotations"] = dict(doc.get("annotations") or {},
                                        **{"org.imgwatch.test.tag": t})
                b = json.dumps(d, separators=(",", ":")).encode()
            return reg.put_manifest(client, repo, t, b, media_type)

        tags = list(tags)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip(tags, pool.map(put, tags)))

    def manifest_digest(self, ref, creds=None, ca=None):
        """Digest the registry gives for ref (HEAD), or None if missing."""
        host, repo, tail = reg.split_ref(ref)
        return reg.manifest_digest(reg.client_for(host, creds, _ca_file(ca)), repo, tail)

    def manifest(self, ref, creds=None, ca=None):
        """(body bytes, media type, digest) of the manifest ref names."""
        host, repo, tail = reg.split_ref(ref)
        return reg.get_manifest(reg.client_for(host, creds, _ca_file(ca)), repo, tail)

    def config_digest(self, ref, creds=None, ca=None):
        """Config digest of the image manifest ref names (by tag or digest)."""
        body, media_type, _ = self.manifest(ref, creds, ca)
        doc = json.loads(body)
        if "config" not in doc:
            raise ValueError("%s is an index (%s), not an image manifest" % (ref, media_type))
        return doc["config"]["digest"]

    def delete_tag(self, ref, creds=None, ca=None):
        """Delete the manifest ref's tag points at (so the tag is missing); return its digest.

        Every other tag on the same digest disappears too.
        """
        host, repo, tail = reg.split_ref(ref)
        client = reg.client_for(host, creds, _ca_file(ca))
        digest = tail if tail.startswith("sha256:") else reg.manifest_digest(client, repo, tail)
        if digest is None:
            raise RuntimeError("%s does not exist" % ref)
        reg.delete_manifest(client, repo, digest)
        return digest


def _path_join(*parts):
    return os.path.join(*parts)


def _unique_dir(parent, stem):
    return os.path.join(parent, "%s-%s" % (stem, secrets.token_hex(3)))


def _ca_file(ca):
    if ca and os.path.isdir(ca):
        return os.path.join(ca, "ca.crt")
    return ca


def _cert_dir(workdir, ca):
    if os.path.isdir(ca):
        return ca
    d = _unique_dir(workdir, "certs")
    os.makedirs(d)
    shutil.copy(ca, os.path.join(d, "ca.crt"))
    return d


def _set_variant(layout, tag, variant):
    """Add platform.variant to the config (umoci has no flag for it)."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag:
            continue
        mpath = os.path.join(layout, "blobs", *desc["digest"].split(":"))
        with open(mpath, "rb") as f:
            manifest = json.load(f)
        cpath = os.path.join(layout, "blobs", *manifest["config"]["digest"].split(":"))
        with open(cpath, "rb") as f:
            config = json.load(f)
        config["variant"] = variant
        cbytes = json.dumps(config, separators=(",", ":")).encode()
        manifest["config"]["digest"] = _put_blob(layout, cbytes)
        manifest["config"]["size"] = len(cbytes)
        mbytes = json.dumps(manifest, separators=(",", ":")).encode()
        desc["digest"] = _put_blob(layout, mbytes)
        desc["size"] = len(mbytes)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


def _put_blob(layout, data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", hexd), "wb") as f:
        f.write(data)
    return "sha256:" + hexd
