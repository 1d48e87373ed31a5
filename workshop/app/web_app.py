"""The lab's web app: GET / says whether it can log in to the database, as JSON.

    {"db_status": "CONNECTED"}  or  {"db_status": "DISCONNECTED", "error_message": "..."}

Three ways to get the credentials (--variant):
  hardcoded   the credentials written down once (--credentials FILE): they stop working at rotation
  get-secret  get_secret(name) on every request: always AWSCURRENT
  cached      AWS's caching client (aws-secretsmanager-caching): one read per hour, and a fresh read
              when the database refuses the cached password (it has rotated)
Each request logs in anew (a connection already open survives a password change), runs SELECT 1,
and closes. The error message names the MySQL error, never the password.
"""
from __future__ import annotations

import argparse
import json
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

from secret_reader import SecretReadError, client_for, credentials_from, get_secret

ACCESS_DENIED = 1045

# The TLS every login uses: what pymysql sets up by default (encrypted; the server's certificate not checked, as
# the lab's lesson is the password), made once. pymysql makes it anew for each connection, loading the system's
# CA certificates every time: that was most of each request's CPU.
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


def check(credentials: dict) -> None:
    connection = pymysql.connect(host=credentials["host"], port=int(credentials["port"]), user=credentials["username"],
                                 password=credentials["password"], connect_timeout=3, read_timeout=3, ssl=TLS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


class HardCoded:
    def __init__(self, path: str):
        with open(path, encoding="utf-8") as written:
            self.credentials = credentials_from(written.read(), path)

    def status(self) -> None:
        check(self.credentials)


class ReadEachTime:
    def __init__(self, secret_id: str):
        self.secret_id = secret_id
        self.client = client_for(secret_id)

    def status(self) -> None:
        check(get_secret(self.secret_id, self.client))


class Cached:
    def __init__(self, secret_id: str):
        self.secret_id = secret_id
        self.cache = SecretCache(config=SecretCacheConfig(), client=client_for(secret_id))

    def status(self) -> None:
        try:
            check(credentials_from(self.cache.get_secret_string(self.secret_id), self.secret_id))
        except pymysql.err.OperationalError as error:
            if error.args[0] != ACCESS_DENIED:
                raise
            self.cache.refresh_secret_now(self.secret_id)  # the password rotated: read it again, once
            check(credentials_from(self.cache.get_secret_string(self.secret_id), self.secret_id))


def answer_for(source) -> dict:
    try:
        source.status()
    except pymysql.err.MySQLError as error:
        return {"db_status": "DISCONNECTED", "error_message": f"MySQL error {error.args[0]}: {error.args[-1]}"}
    except SecretReadError as error:
        return {"db_status": "DISCONNECTED", "error_message": str(error)}
    return {"db_status": "CONNECTED"}


def serve(source, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path != "/":
                self.send_error(404)
                return
            body = json.dumps(answer_for(source)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # many requests a second: no access log
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("hardcoded", "get-secret", "cached"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret-id", help="the secret's name or ARN (get-secret, cached)")
    parser.add_argument("--credentials", help="the written-down credentials, a JSON file (hardcoded)")
    options = parser.parse_args()
    if options.variant == "hardcoded":
        source = HardCoded(options.credentials)
    elif options.variant == "get-secret":
        source = ReadEachTime(options.secret_id)
    else:
        source = Cached(options.secret_id)
    serve(source, options.port)


if __name__ == "__main__":
    main()
