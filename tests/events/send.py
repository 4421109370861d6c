#!/usr/bin/env python3
"""Sends CloudEvents to an edgeflow node the way a real producer would: built and
encoded by the official CloudEvents Python SDK (`pip install cloudevents`).

    send.py URL TOKEN MODE < events.json

MODE is `structured`, `binary` (one request per event) or `batch` (one request for
all). events.json is a JSON array of {"id", "source", "type", "data"}. Prints one JSON
line per request: {"status": HTTP status, "body": the answer}.

    send.py URL TOKEN raw CONTENT_TYPE < body

posts a body as it is (for events the SDK would refuse to build).
"""

import json
import sys
import urllib.error
import urllib.request

from cloudevents.v1.conversion import to_json
from cloudevents.v1.http import CloudEvent, to_binary, to_structured


def post(url, token, headers, body):
    request = urllib.request.Request(url + "/v1/events", data=body, method="POST")
    for name, value in headers.items():
        request.add_header(name, value)
    request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return {"status": reply.status, "body": json.loads(reply.read() or b"null")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read() or b"null")}


def main():
    url, token, mode = sys.argv[1:4]
    if mode == "raw":
        body = sys.stdin.buffer.read()
        print(json.dumps(post(url, token, {"Content-Type": sys.argv[4]}, body)))
        return
    events = [
        CloudEvent({"id": e["id"], "source": e["source"], "type": e["type"]}, e.get("data"))
        for e in json.load(sys.stdin)
    ]
    if mode == "batch":
        body = b"[" + b",".join(to_json(event) for event in events) + b"]"
        headers = {"Content-Type": "application/cloudevents-batch+json"}
        print(json.dumps(post(url, token, headers, body)))
        return
    encode = to_structured if mode == "structured" else to_binary
    for event in events:
        headers, body = encode(event)
        print(json.dumps(post(url, token, headers, body)))


if __name__ == "__main__":
    main()
