#!/usr/bin/env python3
"""Generates a large valid edgeflow program for the `edgeflow check` benchmark.

Usage: benches/generate_program.py WORKFLOWS [OUT]   (default OUT: stdout)

Each workflow has 10 steps (op calls, pure expressions, guards, retries, `after`) and a
record output in 13 lines, so 5,000 workflows are about 65,000 lines and 4 MB; the file also declares edges, consts, a policy and a migration that the
workflows use, so every phase of the checker does real work.
"""
import sys

HEADER = """/// Generated benchmark program.
edges {
  us_east_1 { region: "us", zone: "us-east-1", labels: ["api"] }
  eu_west_1 { region: "eu", zone: "eu-west-1", compliance: ["gdpr"] }
}
const LIMIT = 1000
const WINDOW = 1m
policy shared_api {
  match: route("/api/v1/shared")
  limit: LIMIT per WINDOW
  burst: LIMIT / 10
}
migration move_cache {
  from: us_east_1
  to: eu_west_1
  workloads: ["cache"]
  strategy: live
  max_downtime: 5s
}
"""

WORKFLOW = """workflow flow_{i}(tenant: string = "t{i}", usage: int = {i}, ratio: float = 0.5) {{
  let leader = coord.elect_leader(group: "g{i}", ttl: 5s)
  let current = state.get(ns: "usage", key: tenant)
  let previous = if current.found {{ int(current.value) }} else {{ 0 }}
  let total = previous + usage * 2 - LIMIT / 100
  let budget = {{ limit: LIMIT, used: total, share: ratio * 100.0 }}
  let saved = state.put(ns: "usage", key: tenant, value: budget) after leader retry 3
  let grant = ratelimit.acquire(policy: shared_api, key: tenant) timeout 2s
  let health = edge.health(edge: us_east_1) on us_east_1
  let alert = log.emit(message: "over: " + tenant, fields: budget) when total > LIMIT
  let ordered = coord.global_order(group: "g{i}", events: [total]) after saved, grant
  return {{ leader: leader.leader, ok: grant.allowed && health.health > 0.5, seq: ordered.sequence }}
}}
"""


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    count = int(sys.argv[1])
    out = open(sys.argv[2], "w") if len(sys.argv) > 2 else sys.stdout
    out.write(HEADER)
    for i in range(count):
        out.write(WORKFLOW.format(i=i))
    out.close()


if __name__ == "__main__":
    main()
