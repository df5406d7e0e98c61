"""A throw-away certificate authority made with the openssl command line.

make_ca() writes a CA and a server certificate valid for 127.0.0.1 and
localhost; the registry serves the server certificate and clients trust the CA.
"""

import os
import subprocess


class CA:
    """Paths of a test CA and of one server certificate it signed.

    ca_path: the CA certificate (PEM), what clients trust.
    cert_dir: a directory holding only ca.crt (the layout skopeo's
        --*-cert-dir and containers' certs.d expect).
    cert_path, key_path: the server certificate (SAN IP:127.0.0.1,
        DNS:localhost) and its key.
    """

    def __init__(self, directory):
        self.dir = directory
        self.ca_path = os.path.join(directory, "ca.crt")
        self.ca_key_path = os.path.join(directory, "ca.key")
        self.cert_path = os.path.join(directory, "server.crt")
        self.key_path = os.path.join(directory, "server.key")
        self.cert_dir = os.path.join(directory, "certs.d")


def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.strip()))


def make_ca(directory, cn="imgwatch test CA"):
    """Create a CA and a server certificate for 127.0.0.1/localhost in directory.

    Keys are EC P-256 (fast to make).  Returns a CA.  Raises RuntimeError with
    openssl's message on failure.
    """
    os.makedirs(directory, exist_ok=True)
    ca = CA(directory)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        ["req", "-x509"] + ec + [
            "-keyout", ca.ca_key_path, "-out", ca.ca_path, "-days", "3",
            "-subj", "/CN=%s" % cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ],
        directory,
    )
    csr = os.path.join(directory, "server.csr")
    _openssl(["req"] + ec + ["-keyout", ca.key_path, "-out", csr, "-subj", "/CN=localhost"],
             directory)
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
        )
    _openssl(
        ["x509", "-req", "-in", csr, "-CA", ca.ca_path, "-CAkey", ca.ca_key_path,
         "-CAcreateserial", "-out", ca.cert_path, "-days", "3", "-extfile", ext],
        directory,
    )
    os.makedirs(ca.cert_dir, exist_ok=True)
    with open(ca.ca_path, "rb") as src, open(os.path.join(ca.cert_dir, "ca.crt"), "wb") as dst:
        dst.write(src.read())
    return ca
