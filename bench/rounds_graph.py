"""A matching round at scale: best_pairing on a realistic candidate graph beside the exact optimum.

Database-independent. `python -m bench.rounds_graph [members] [seed]` prints one figure per
line as `round N members what: value unit`; the main bench calls `run` and `report`.
The exact optimum comes from networkx (a test-only dependency), imported only when needed.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterable, Mapping

from peerhub.matching.pairing import best_pairing

TOPICS_PER_MEMBER = 50  # about one topic per 50 members: clusters of a few dozen people
ISOLATED_SHARE = 0.02  # members whose hard constraints rule out everyone
GROUP_WANTER_SHARE = 0.10


def random_candidate_graph(
    n: int, seed: int, degree: int = 40
) -> tuple[list[int], dict[tuple[int, int], int], set[int]]:
    """Members, a clustered sparse candidate graph (at most `degree` edges each), group wanters."""
    rng = random.Random(seed)
    # Member ids are sparse like real user ids, so nothing may rely on them being 0..n-1.
    members = sorted(rng.sample(range(1, 20 * n + 2), n))
    topics = max(1, n // TOPICS_PER_MEMBER)
    topic_of = {m: rng.randrange(topics) for m in members}
    by_topic: dict[int, list[int]] = {t: [] for t in range(topics)}
    for m in members:
        by_topic[topic_of[m]].append(m)
    isolated = {m for m in members if rng.random() < ISOLATED_SHARE}
    open_members = [m for m in members if m not in isolated]
    by_topic = {t: [m for m in ms if m not in isolated] for t, ms in by_topic.items()}
    deg = dict.fromkeys(members, 0)
    edges: dict[tuple[int, int], int] = {}

    def partner(m: int) -> tuple[int, int]:
        roll = rng.random()
        if roll < 0.70:
            distance = 0
        elif roll < 0.95:
            distance = 1
        else:
            return rng.choice(open_members), 3
        topic = (topic_of[m] + rng.choice((-distance, distance))) % topics
        pool = by_topic[topic] or open_members
        return rng.choice(pool), distance

    for m in open_members:
        target = rng.randint(degree // 2, degree)
        for _ in range(4 * degree):  # bounded: small topics may run out of partners
            if deg[m] >= target:
                break
            other, distance = partner(m)
            key = (min(m, other), max(m, other))
            if other == m or key in edges or deg[other] >= degree:
                continue
            mean = (60, 45, 40, 35)[distance]
            edges[key] = max(10, min(95, round(rng.gauss(mean, 15))))
            deg[m] += 1
            deg[other] += 1
    wanters = {m for m in members if rng.random() < GROUP_WANTER_SHARE}
    return members, edges, wanters


def exact_max_weight(members: Iterable[int], edges: Mapping[tuple[int, int], int]) -> int:
    """The exact maximum-weight matching total among `members` (networkx; slow, for reference)."""
    import networkx as nx

    chosen = set(members)
    graph = nx.Graph()
    graph.add_nodes_from(chosen)
    graph.add_weighted_edges_from(
        (a, b, w) for (a, b), w in edges.items() if a in chosen and b in chosen
    )
    return sum(edges[(min(a, b), max(a, b))] for a, b in nx.max_weight_matching(graph))


def run(n: int = 2000, seed: int = 1) -> dict:
    """Time best_pairing and the exact optimum of its pair pool on one random round."""
    members, edges, wanters = random_candidate_graph(n, seed)
    started = time.perf_counter()
    pairing = best_pairing(members, edges, wanters)
    pairing_seconds = time.perf_counter() - started
    # Members in small groups never reach the pair matching, so the optimum is over the rest.
    in_groups = {m for group in pairing.groups if len(group) > 2 for m in group}
    started = time.perf_counter()
    exact = exact_max_weight([m for m in members if m not in in_groups], edges)
    exact_seconds = time.perf_counter() - started
    return {
        "members": n,
        "edges": len(edges),
        "group_wanters": len(wanters),
        "small_groups": sum(1 for g in pairing.groups if len(g) > 2),
        "pairs": sum(1 for g in pairing.groups if len(g) == 2),
        "unmatched": len(pairing.unmatched),
        "pairing_seconds": pairing_seconds,
        "total": pairing.total,
        "exact_total": exact,
        "exact_seconds": exact_seconds,
        "of_optimum": pairing.total / exact if exact else 1.0,
    }


def report(figures: Mapping[str, float]) -> list[str]:
    """The figures of `run` as printable `round N members what: value unit` lines."""
    prefix = f"round {figures['members']} members"
    return [
        f"{prefix} pairing time: {figures['pairing_seconds']:.2f} s",
        f"{prefix} total score: {figures['total']}",
        f"{prefix} exact optimum: {figures['exact_total']}",
        f"{prefix} of optimum: {100 * figures['of_optimum']:.2f} %",
        f"{prefix} exact optimum time: {figures['exact_seconds']:.1f} s",
    ]


def main(argv: list[str]) -> None:
    """Run one round of the size and seed given on the command line and print its figures."""
    n = int(argv[0]) if argv else 2000
    seed = int(argv[1]) if len(argv) > 1 else 1
    for line in report(run(n, seed)):
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
