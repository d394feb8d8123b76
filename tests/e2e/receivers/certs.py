"""A throwaway PKI made with the openssl CLI: a CA, a server certificate for
127.0.0.1 and localhost (subjectAltName IP and DNS), and a client
certificate for mutual TLS. EC P-256 keys: fast to make, and both GnuTLS
(rsyslog) and OpenSSL (Python, libcurl) take them."""
import os
import subprocess

OPENSSL = "/usr/bin/openssl"
DAYS = "2"
TIMEOUT = 30.0       # s, per openssl run


def _openssl(args, cwd):
    if not os.access(OPENSSL, os.X_OK):
        raise RuntimeError("%s not found: install the package openssl (`make deps` does)" % OPENSSL)
    r = subprocess.run([OPENSSL] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed (rc %d): %s"
                           % (args[0], r.returncode, r.stderr.decode(errors="replace")[-400:]))


class Certs:
    """Files under dirpath: ca.pem (give it to mlwatch as ca_file),
    server.pem/server.key (the receivers'), client.pem/client.key (give
    them to mlwatch as cert_file/key_file when the receiver asks for a
    client certificate). name keeps two PKIs in one dir apart: a second
    Certs(dir, "other") is a CA mlwatch must not trust."""

    def __init__(self, dirpath, name="e2e"):
        self.dir = dirpath
        os.makedirs(dirpath, exist_ok=True)
        p = lambda f: os.path.join(dirpath, "%s-%s" % (name, f))  # noqa: E731
        self.ca_key, self.ca_file = p("ca.key"), p("ca.pem")
        self.server_key, self.server_cert = p("server.key"), p("server.pem")
        self.client_key, self.client_cert = p("client.key"), p("client.pem")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _openssl(["req", "-x509"] + ec + [
            "-keyout", self.ca_key, "-out", self.ca_file, "-days", DAYS,
            "-subj", "/CN=mlwatch %s test CA" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dirpath)
        self._leaf("server", "localhost", self.server_key, self.server_cert,
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "extendedKeyUsage=serverAuth\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n")
        self._leaf("client", "mlwatch-client", self.client_key, self.client_cert,
                   "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
        for k in (self.ca_key, self.server_key, self.client_key):
            os.chmod(k, 0o600)

    def _leaf(self, what, cn, key, cert, ext):
        csr = cert + ".csr"
        extfile = cert + ".ext"
        with open(extfile, "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + ext)
        _openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn], self.dir)
        _openssl(["x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.ca_key,
                  "-set_serial", "0x" + os.urandom(8).hex(), "-days", DAYS,
                  "-out", cert, "-extfile", extfile], self.dir)
        os.unlink(csr)
        os.unlink(extfile)

    def server_context(self, client_auth=False):
        """An ssl server context with the server certificate; client_auth
        demands a client certificate signed by this CA."""
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if client_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_file)
        return ctx

    def client_context(self, with_cert=False):
        """An ssl client context that trusts this CA (and checks the name)."""
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if with_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx
