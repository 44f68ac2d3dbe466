#!/usr/bin/env python3
"""A real RFC 3161 time-stamping authority on loopback, for tests: `openssl ts -reply` signs
each query with a TSA certificate from a test CA made by `openssl req`.

    tsa_server.py DIR [--port N]

DIR gets the CA (`ca.pem`, what a verifier trusts) and the TSA's key and certificate the first
time. Prints `tsa listening on http://127.0.0.1:PORT` once ready. `--fail-first N` answers the
first N queries with 503 (a TSA that is down); `--wrong-imprint` signs a different hash than the
one asked for (a TSA that cannot be trusted).
"""
import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading

CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_authority(folder):
    if os.path.exists(os.path.join(folder, "tsa.pem")):
        return
    os.makedirs(folder, exist_ok=True)
    ca_key, ca = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.pem")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "30", "-subj", "/CN=fieldgate test time-stamping CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    tsa_key, csr = os.path.join(folder, "tsa.key"), os.path.join(folder, "tsa.csr")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", tsa_key, "-out", csr, "-subj", "/CN=fieldgate test TSA")
    extensions = os.path.join(folder, "tsa.ext")
    with open(extensions, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=critical,timeStamping\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", os.path.join(folder, "tsa.pem"), "-days", "30", "-extfile", extensions)
    with open(os.path.join(folder, "tsaserial"), "w") as f:
        f.write("01\n")
    with open(os.path.join(folder, "tsa.cnf"), "w") as f:
        f.write(CONFIG.format(dir=folder))


class Authority:
    def __init__(self, folder, fail_first, wrong_imprint):
        self.folder = folder
        self.failures_left = fail_first
        self.wrong_imprint = wrong_imprint
        self.lock = threading.Lock()
        self.answered = 0

    def reply(self, query):
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return None
            with tempfile.TemporaryDirectory() as scratch:
                query_file = os.path.join(scratch, "query.tsq")
                if self.wrong_imprint:
                    # A query of our own over other bytes, answered in place of the one asked.
                    other = os.path.join(scratch, "other")
                    with open(other, "wb") as f:
                        f.write(b"not what was asked")
                    run("openssl", "ts", "-query", "-data", other, "-sha256", "-cert", "-out", query_file)
                else:
                    with open(query_file, "wb") as f:
                        f.write(query)
                reply_file = os.path.join(scratch, "reply.tsr")
                run("openssl", "ts", "-reply", "-config", os.path.join(self.folder, "tsa.cnf"),
                    "-queryfile", query_file, "-out", reply_file)
                with open(reply_file, "rb") as f:
                    self.answered += 1
                    return f.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--wrong-imprint", action="store_true")
    options = parser.parse_args()
    folder = os.path.abspath(options.folder)
    make_authority(folder)
    authority = Authority(folder, options.fail_first, options.wrong_imprint)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            query = self.rfile.read(length)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415)
                return
            try:
                answer = authority.reply(query)
            except subprocess.CalledProcessError as error:
                sys.stderr.write(error.stderr.decode(errors="replace"))
                self.send_error(400)
                return
            if answer is None:
                self.send_error(503)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    print(f"tsa listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
