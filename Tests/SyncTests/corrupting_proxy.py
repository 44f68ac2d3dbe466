#!/usr/bin/env python3
"""An HTTP/1.1 proxy on loopback that flips one byte in the body of the first tus PATCH it
forwards, as a damaged network path would, and passes everything else through unchanged.

Usage: corrupting_proxy.py TARGET_PORT  (prints "port N" once listening, "corrupted" when it flips)
"""
import http.client
import http.server
import signal
import sys
import threading

# A test process may start us with signals blocked (inherited from the spawning thread).
signal.pthread_sigmask(signal.SIG_SETMASK, [])

TARGET = int(sys.argv[1])
lock = threading.Lock()
state = {"corrupted": False}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "PATCH" and len(body) > 0:
            with lock:
                if not state["corrupted"]:
                    state["corrupted"] = True
                    damaged = bytearray(body)
                    damaged[len(damaged) // 2] ^= 0xFF
                    body = bytes(damaged)
                    print("corrupted", flush=True)
        upstream = http.client.HTTPConnection("127.0.0.1", TARGET, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["Host"] = "127.0.0.1:%d" % TARGET
        upstream.request(self.command, self.path, body=body if body or length else None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = do_OPTIONS = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
