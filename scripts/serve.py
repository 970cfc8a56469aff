#!/usr/bin/python3
"""serve.py — a loopback-only static server for sl's page (make serve).

    scripts/serve.py [--port N] [--bind 127.0.0.1] [--root web/dist] [--models models]
                     [--no-isolation] [--quiet]

Serves ROOT at / and MODELS at /models/, with the headers that make the page cross-origin
isolated (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy:
require-corp), which the threaded build needs for SharedArrayBuffer.  --no-isolation leaves
them out (the page then runs its one-thread build).  Port 0 picks a free port.  The first
line on stdout is "serving http://127.0.0.1:PORT/", for scripts that started it.

Only the loopback address is served: this is a development server, with no access control.
Python 3 standard library only.
"""

import argparse
import http.server
import os
import posixpath
import sys
import urllib.parse

MIME = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".gguf": "application/octet-stream",
    ".zst": "application/octet-stream",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


def handler_for(root, models, isolation, quiet):
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map, **MIME)

        def translate_path(self, path):
            # /models/... from the models folder, everything else from root; ".." and
            # empty parts are dropped, as the base class does, so nothing outside is served.
            path = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
            parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
            base = root
            if parts and parts[0] == "models":
                base, parts = models, parts[1:]
            full = os.path.join(base, *parts)
            if path.endswith("/"):
                full += "/"
            return full

        def guess_type(self, path):
            ext = os.path.splitext(path)[1].lower()
            return MIME.get(ext) or super().guess_type(path)

        def end_headers(self):
            if isolation:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            # Development: always revalidate (the page keeps model chunks in its own cache).
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, fmt, *args):
            if not quiet:
                super().log_message(fmt, *args)

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A page that stops reading (a run stopped, a Worker ended) is not an error here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="Serve sl's page (web/dist) and models on the loopback address.")
    ap.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: a free one)")
    ap.add_argument("--bind", default="127.0.0.1", help="address: only 127.0.0.1 is accepted")
    ap.add_argument("--root", default="web/dist", help="directory served at / (default web/dist)")
    ap.add_argument("--models", default="models", help="directory served at /models/ (default models)")
    ap.add_argument("--no-isolation", action="store_true",
                    help="omit the COOP/COEP headers (the page runs one thread)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no request log")
    a = ap.parse_args()

    if a.bind not in ("127.0.0.1", "localhost"):
        print(f"serve.py: --bind {a.bind}: only the loopback address 127.0.0.1 is served", file=sys.stderr)
        return 2
    if not 0 <= a.port <= 65535:
        print(f"serve.py: --port {a.port}: not a port", file=sys.stderr)
        return 2
    for d, what in ((a.root, "--root"), (a.models, "--models")):
        if not os.path.isdir(d):
            print(f"serve.py: {what} {d}: not a directory" + (" (make wasm)" if what == "--root" else ""),
                  file=sys.stderr)
            return 1
    handler = handler_for(os.path.abspath(a.root), os.path.abspath(a.models), not a.no_isolation, a.quiet)
    try:
        srv = Server(("127.0.0.1", a.port), handler)
    except OSError as e:
        print(f"serve.py: 127.0.0.1:{a.port}: {e.strerror}", file=sys.stderr)
        return 1
    port = srv.server_address[1]
    print(f"serving http://127.0.0.1:{port}/ ({a.root}; /models/ from {a.models}"
          + ("; not cross-origin isolated" if a.no_isolation else "") + ")", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
