#!/usr/bin/env python3
"""Load benchmark of the admin pages: GET /web-applications and GET /web-applications/{name}.

Builds the release binary, creates a fresh database (SQLite by default, PostgreSQL with
--postgres) with 1,000 imported OAuth records and 10,000 connections, starts `emsg serve`, logs
in as a finance user and runs wrk against both pages. Prints requests/s, p50 and p99 per page and
compares p99 with the target (20 ms). See bench/README.md.

Needs only the repository, cargo, and apt access (wrk is installed from Debian when missing);
--postgres also needs psql and a server at postgres://postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 20.0
PASSWORD = "bench password long enough"
FINANCE = "bench-finance"
COMPANY = "default"


def log(msg: str) -> None:
    print(f"[pages-bench] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


# --- setup ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("wrk is missing: installing it from Debian (apt-get install -y wrk)")
    if subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "wrk"], env=env).returncode != 0:
        log("apt-get install failed: running apt-get update first, then installing again")
        run(sudo + ["apt-get", "update", "-q"], env=env)
        run(sudo + ["apt-get", "install", "-y", "-q", "wrk"], env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is still missing after apt-get install")
    log(f"installed wrk: {found}")
    return found


def build() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    log(f"cargo build --release (CARGO_TARGET_DIR={target})")
    run(["cargo", "build", "--release", "--quiet", "--bin", "emsg"], cwd=REPO)
    binary = target / "release" / "emsg"
    if not binary.exists():
        sys.exit(f"no binary at {binary}")
    return binary


def is_user_specific(i: int) -> bool:
    return i % 5 == 0


def record_name(i: int) -> str:
    if is_user_specific(i):
        return f"Bench {i:04d} ITSA (user-specific)"
    return f"Bench {i:04d} VAT"


def record_yaml(i: int) -> str:
    secret = (
        f'"inline-{i:04d}-5e884898da28047151d0e56f8dc62927"' if i % 2 == 0 else "null"
    )
    scope = "read:self-assessment write:self-assessment" if is_user_specific(i) else "read:vat write:vat"
    return f"""  - name: {record_name(i)}
    description: Benchmark record {i:04d}, tenant {i:04d}
    base_url: https://api.tenant-{i:04d}.example.com
    authorization_url: https://www.tenant-{i:04d}.example.com/oauth/authorize
    token_url: https://api.tenant-{i:04d}.example.com/oauth/token
    revocation_url: null
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: client-{i:04d}-3f2a9c
    client_secret: {secret}
    scope: {scope}
    authorization_params: {{}}
    client_auth: client_secret_post
    pkce: true
    accept: application/vnd.hmrc.1.0+json
    content_type: application/json
    code_lifetime: 10m
    authorization_lifetime: 548d
    user_specific: {"true" if is_user_specific(i) else "false"}
    obtain_token_on_callback: false
"""


def connection_rows(records: dict[str, int], users: list[int], total: int) -> list[tuple]:
    """One company connection (user_key 0) per shared record, one per user per user-specific
    record, until `total`. Status 'connected', no tokens (sealed bytes need the key), plausible
    scope / expiry / authorized_by / authorized_at."""
    now = int(time.time())
    rows: list[tuple] = []
    shared = [(i, rid) for i, rid in records_by_index(records) if not is_user_specific(i)]
    specific = [(i, rid) for i, rid in records_by_index(records) if is_user_specific(i)]
    for n, (i, rid) in enumerate(shared):
        rows.append(row(rid, 0, users[n % len(users)], "read:vat write:vat", now, n))
    n = 0
    for uid in users:
        for i, rid in specific:
            if len(rows) >= total:
                return rows
            rows.append(row(rid, uid, uid, "read:self-assessment write:self-assessment", now, n))
            n += 1
    return rows[:total]


def records_by_index(records: dict[str, int]) -> list[tuple[int, int]]:
    out = []
    for name, rid in records.items():
        m = re.match(r"Bench (\d{4}) ", name)
        if m:
            out.append((int(m.group(1)), rid))
    return sorted(out)


def row(rid: int, user_key: int, by: int, scope: str, now: int, n: int) -> tuple:
    authorized_at = now - 86400 * (n % 300) - 37 * n % 86400
    return (
        rid, COMPANY, user_key, "connected", "bearer", scope,
        now + 600 + (n * 97) % 14400,  # access token expires within the next 4 h
        by, authorized_at, authorized_at + 548 * 86400, 0, 1, authorized_at, now,
    )


COLUMNS = (
    "web_application_id, company, user_key, status, token_type, granted_scope, access_expires_at, "
    "authorized_by, authorized_at, authorization_expires_at, refresh_failures, version, "
    "created_at, updated_at"
)


class Db:
    """The fresh database: a SQLite file, or a PostgreSQL database created and dropped with psql."""

    def __init__(self, postgres: bool, tmp: Path, params: str = ""):
        self.postgres = postgres
        if postgres:
            self.admin = os.environ.get(
                "EMSG_BENCH_POSTGRES_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres"
            )
            self.name = f"emsg_pagesbench_{os.getpid()}_{int(time.time())}"
            base = self.admin.rsplit("/", 1)[0]
            self.url = f"{base}/{self.name}" + (f"?{params}" if params else "")
            run(["psql", self.admin, "-qAtc", f'CREATE DATABASE "{self.name}"'])
            log(f"created PostgreSQL database {self.name}")
        else:
            self.path = tmp / "emsg.db"
            self.url = f"sqlite://{self.path}"

    def query(self, sql: str) -> list[list[str]]:
        if self.postgres:
            out = run(["psql", self.url, "-qAt", "-F", "\t", "-c", sql], capture_output=True, text=True).stdout
            return [line.split("\t") for line in out.splitlines() if line]
        with sqlite3.connect(self.path) as c:
            return [[str(v) for v in r] for r in c.execute(sql).fetchall()]

    def insert_connections(self, rows: list[tuple]) -> None:
        if self.postgres:
            # one COPY through psql: the fastest honest way in
            data = "".join("\t".join(str(v) for v in r) + "\n" for r in rows)
            run(["psql", self.url, "-qc", f"COPY connections ({COLUMNS}) FROM STDIN"], input=data, text=True)
        else:
            with sqlite3.connect(self.path) as c:
                c.executemany(
                    f"INSERT INTO connections ({COLUMNS}) VALUES ({', '.join('?' * 14)})", rows
                )

    def drop(self) -> None:
        if self.postgres:
            subprocess.run(["psql", self.admin, "-qAtc", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'])
            log(f"dropped PostgreSQL database {self.name}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- measuring --------------------------------------------------------------------------------


def curl(args: list[str]) -> str:
    return run(["curl", "-sS", *args], capture_output=True, text=True).stdout


def log_in(base: str, jar: Path) -> str:
    form = curl(["-c", str(jar), f"{base}/login"])
    m = re.search(r'name="csrf" value="([^"]+)"', form)
    if not m:
        sys.exit("no csrf field in the login form")
    status = curl([
        "-b", str(jar), "-c", str(jar), "-o", "/dev/null", "-w", "%{http_code}",
        "--data-urlencode", f"name={FINANCE}", "--data-urlencode", f"password={PASSWORD}",
        "--data-urlencode", f"csrf={m.group(1)}", "--data-urlencode", "next=",
        f"{base}/login",
    ])
    if status != "303":
        sys.exit(f"POST /login answered {status}, not 303")
    for line in jar.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 7 and fields[5] == "emsg_session":
            return fields[6]
    sys.exit("no emsg_session cookie after logging in")


def check_page(base: str, path: str, cookie: str, must_contain: str) -> None:
    out = curl(["-H", f"Cookie: emsg_session={cookie}", "-w", "\n%{http_code}", f"{base}{path}"])
    body, _, status = out.rpartition("\n")
    if status != "200" or must_contain not in body:
        sys.exit(f"GET {path}: {status}, contains {must_contain!r}: {must_contain in body}")
    log(f"GET {path}: 200, {len(body)} bytes, contains {must_contain!r}")


def ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]


def wrk(wrk_bin: str, url: str, cookie: str, args) -> dict:
    cmd = [wrk_bin, f"-t{args.threads}", f"-c{args.connections_http}", f"-d{args.duration}",
           "--latency", "-H", f"Cookie: emsg_session={cookie}", url]
    log(" ".join(cmd[:-3] + ['"Cookie: emsg_session=…"', url]))
    out = run(cmd, capture_output=True, text=True).stdout
    if args.verbose:
        print(out, file=sys.stderr)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": ms(p50.group(1)) if p50 else float("nan"),
        "p99": ms(p99.group(1)) if p99 else float("nan"),
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--connections", type=int, default=10000, help="rows in the connections table")
    p.add_argument("--duration", default="15s", help="wrk -d")
    p.add_argument("--threads", type=int, default=2, help="wrk -t")
    p.add_argument("--connections-http", type=int, default=32, help="wrk -c")
    p.add_argument("--pool-size", type=int, default=None, help="emsg serve --pool-size")
    p.add_argument("--emsg", type=Path, default=None,
                   help="use this emsg binary instead of building the release one")
    p.add_argument("--verbose", action="store_true", help="print wrk's full output")
    p.add_argument("--pg-params", default="",
                   help="connection parameters for emsg's PostgreSQL URL, e.g. sslmode=disable")
    p.add_argument("--hold", action="store_true",
                   help="after the checks, keep the server up (for a profiler) until Ctrl-C; no wrk")
    args = p.parse_args()

    wrk_bin = ensure_wrk()
    emsg = args.emsg.resolve() if args.emsg else build()
    tmp = Path(tempfile.mkdtemp(prefix="emsg-pagesbench-"))
    db = Db(args.postgres, tmp, args.pg_params)
    env = dict(os.environ, EMSG_DATABASE_URL=db.url, EMSG_KEY_FILE=str(tmp / "master.key"),
               EMSG_COMPANY=COMPANY, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("EMSG_MASTER_KEY", None)
    server = None
    try:
        # records
        yaml = tmp / "web-apps.yaml"
        yaml.write_text("web_applications:\n" + "".join(record_yaml(i) for i in range(args.records)))
        t = time.monotonic()
        run([str(emsg), "import", str(yaml)], env=env, stdout=subprocess.DEVNULL)
        log(f"imported {args.records} records in {time.monotonic() - t:.1f} s")

        # users: the finance user we log in as, plus the owners of user-specific connections
        t = time.monotonic()
        specific = sum(1 for i in range(args.records) if is_user_specific(i))
        shared = args.records - specific
        needed = -(-max(args.connections - shared, 0) // max(specific, 1))  # owners of the rest
        names = [FINANCE] + [f"bench-user-{n:03d}" for n in range(1, max(needed, 1))]
        for name in names:
            run([str(emsg), "users", "add", name, "--role", "finance", "--password-stdin"],
                env=env, input=PASSWORD, text=True, stdout=subprocess.DEVNULL)
        user_ids = {n: int(i) for n, i in db.query("SELECT name, id FROM users")}
        log(f"added {len(names)} finance users in {time.monotonic() - t:.1f} s")

        # connections, straight into the table
        records = {n: int(i) for n, i in db.query("SELECT name, id FROM web_applications")}
        rows = connection_rows(records, [user_ids[n] for n in names], args.connections)
        db.insert_connections(rows)
        count = db.query("SELECT count(*), count(DISTINCT web_application_id) FROM connections")[0]
        log(f"inserted {count[0]} connections over {count[1]} records")

        # server
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [str(emsg), "serve", "--listen", f"127.0.0.1:{port}", "--web-apps", str(yaml)]
        if args.pool_size:
            cmd += ["--pool-size", str(args.pool_size)]
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "w"))
        for _ in range(300):
            if server.poll() is not None:
                sys.exit(f"emsg serve exited: {(tmp / 'serve.log').read_text()}")
            try:
                if curl(["-o", "/dev/null", "-w", "%{http_code}", f"{base}/healthz"]) == "200":
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("emsg serve did not answer /healthz")
        log(f"emsg serve is up on {base} (pid {server.pid})")

        cookie = log_in(base, tmp / "cookies.txt")
        first = record_name(0)
        detail = record_name(args.records // 2 - args.records // 2 % 5)  # a user-specific one
        detail_path = "/web-applications/" + urllib.parse.quote(detail, safe="")
        check_page(base, "/web-applications", cookie, first)
        check_page(base, detail_path, cookie, detail)

        if args.hold:
            log(f"holding: server pid {server.pid}; try  wrk -c32 -d15s -H 'Cookie: emsg_session={cookie}' "
                f"{base}/web-applications  (Ctrl-C ends)")
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
            return 0

        results = []
        for path in ["/web-applications", detail_path]:
            results.append((path, wrk(wrk_bin, base + path, cookie, args)))

        backend = "postgres" if args.postgres else "sqlite"
        print(f"\nemsg admin pages, {backend}: {args.records} records, {count[0]} connections, "
              f"{len(names)} users; wrk -t{args.threads} -c{args.connections_http} -d{args.duration}; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        width = max(len(path) for path, _ in results)
        print(f"| {'page':<{width}} | requests/s | p50 (ms) | p99 (ms) | p99 < {TARGET_P99_MS:.0f} ms |")
        print(f"|{'-' * (width + 2)}|-----------:|---------:|---------:|:-----------:|")
        ok_all = True
        for path, r in results:
            timeouts = re.search(r"timeout (\d+)", r["socket_errors"])
            r["timeouts"] = int(timeouts.group(1)) if timeouts else 0
            ok = (r["requests"] > 0 and r["p99"] < TARGET_P99_MS and r["non2xx"] == 0
                  and r["timeouts"] == 0)
            ok_all &= ok
            print(f"| {path:<{width}} | {r['rps']:>10.1f} | {r['p50']:>8.2f} | {r['p99']:>8.2f} | "
                  f"{'yes' if ok else 'NO':^11} |")
        for path, r in results:
            if r["non2xx"] or r["timeouts"] or not r["requests"]:
                print(f"{path}: {r['requests']} requests, {r['non2xx']} non-2xx; {r['socket_errors']}"
                      " (wrk leaves requests over its 2 s timeout out of the latencies)")
        print(f"target p99 < {TARGET_P99_MS:.0f} ms: {'met' if ok_all else 'MISSED'}")
        return 0 if ok_all else 1
    finally:
        if server and server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
            log("stopped emsg serve")
        db.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
