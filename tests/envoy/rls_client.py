#!/usr/bin/env python3
"""A client of Envoy's global rate-limit service, generated from Envoy's own proto files
(rls.proto and everything it imports, from the envoy-types crate's copy) with
grpcio-tools: what tests/ratelimit_envoy.rs checks an edgeflow node against.

    rls_client.py generate --proto ENVOY_TYPES/proto --out STUBS
    rls_client.py call --stubs STUBS --target 127.0.0.1:PORT [--token T] --domain D \
        --descriptor path=/api/v1/generate [--descriptor user=alice,tier=free] [--hits N]

`call` prints the response as JSON ({"overall_code": "OK", "statuses": [...]}) or
{"error": "UNAUTHENTICATED", "message": ...} for a gRPC error.
"""

import argparse
import json
import os
import re
import sys

# Where the imports of Envoy's protos live inside the crate's proto folder.
INCLUDE_DIRS = ["data-plane-api", "xds", "protoc-gen-validate", "googleapis", "cel-spec"]
ENTRY = "envoy/service/ratelimit/v3/rls.proto"


def closure(roots, entry):
    """Every proto file `entry` imports, transitively (google/protobuf ones excepted:
    grpcio-tools carries them)."""
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in seen or name.startswith("google/protobuf/"):
            continue
        seen.add(name)
        path = next((os.path.join(r, name) for r in roots if os.path.exists(os.path.join(r, name))), None)
        if path is None:
            sys.exit(f"cannot find {name} under {roots}")
        with open(path, encoding="utf-8") as f:
            todo.extend(re.findall(r'^import\s+(?:public\s+)?"([^"]+)";', f.read(), re.M))
    return sorted(seen)


def generate(args):
    from grpc_tools import protoc
    import grpc_tools

    roots = [os.path.join(args.proto, d) for d in INCLUDE_DIRS]
    files = closure(roots, ENTRY)
    os.makedirs(args.out, exist_ok=True)
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    command = ["protoc", f"-I{well_known}"] + [f"-I{r}" for r in roots]
    command += [f"--python_out={args.out}", f"--grpc_python_out={args.out}"] + files
    if protoc.main(command) != 0:
        sys.exit("protoc failed")
    print(json.dumps({"generated": len(files)}))


def call(args):
    sys.path.insert(0, args.stubs)
    import grpc
    from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc
    from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2

    descriptors = []
    for text in args.descriptor:
        entries = [part.split("=", 1) for part in text.split(",")]
        descriptors.append(
            ratelimit_pb2.RateLimitDescriptor(
                entries=[ratelimit_pb2.RateLimitDescriptor.Entry(key=k, value=v) for k, v in entries]
            )
        )
    request = rls_pb2.RateLimitRequest(domain=args.domain, descriptors=descriptors, hits_addend=args.hits)
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    with grpc.insecure_channel(args.target) as channel:
        stub = rls_pb2_grpc.RateLimitServiceStub(channel)
        try:
            response = stub.ShouldRateLimit(request, metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            print(json.dumps({"error": error.code().name, "message": error.details()}))
            return
    code = rls_pb2.RateLimitResponse.Code.Name
    unit = rls_pb2.RateLimitResponse.RateLimit.Unit.Name
    statuses = []
    for status in response.statuses:
        shown = {"code": code(status.code), "limit_remaining": status.limit_remaining}
        if status.HasField("current_limit"):
            shown["current_limit"] = {
                "name": status.current_limit.name,
                "requests_per_unit": status.current_limit.requests_per_unit,
                "unit": unit(status.current_limit.unit),
            }
        if status.HasField("duration_until_reset"):
            shown["duration_until_reset_s"] = status.duration_until_reset.seconds
        statuses.append(shown)
    print(json.dumps({"overall_code": code(response.overall_code), "statuses": statuses}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser("generate")
    g.add_argument("--proto", required=True)
    g.add_argument("--out", required=True)
    c = commands.add_parser("call")
    c.add_argument("--stubs", required=True)
    c.add_argument("--target", required=True)
    c.add_argument("--token")
    c.add_argument("--domain", required=True)
    c.add_argument("--descriptor", action="append", default=[])
    c.add_argument("--hits", type=int, default=0)
    args = parser.parse_args()
    {"generate": generate, "call": call}[args.command](args)


if __name__ == "__main__":
    main()
