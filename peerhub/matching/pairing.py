"""Pairs and small groups for a matching round: a pure, deterministic algorithm.

The input is the round's candidate graph: an edge (a < b) with a score 1..100 exists only
when a and b satisfy every hard constraint, so members without an edge are never put
together. Group wanters are first formed into groups of 3-4 whose every pair has an edge;
everyone else is paired by a maximum-weight matching.

An exact matching (Edmonds' blossom algorithm, as in networkx) takes about 20 s in pure
Python for 2,000 members, so large components get a greedy matching improved along short
alternating paths and cycles: about 0.2 s and within 0.2 % of the optimum on realistic
graphs (`python -m bench.rounds_graph` measures both). Small components, where that
search could stop short, are solved exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

# Components up to this size are matched exactly by a search over subsets (16: ~3,000
# states at worst, a few ms), so small rounds and isolated clusters lose nothing.
EXACT_COMPONENT_LIMIT = 16
# The local search explores alternating paths of at most MAX_DEPTH added edges, following
# only the most promising BREADTH[depth] continuations at each depth (a narrow beam: wider
# ones cost time exponentially and, measured on 2,000 members, gain under 0.05 %).
MAX_DEPTH = 12
BREADTH = (0, 10, 5, 3, 2, *(1,) * 8)
# Work bounds counted in search nodes, never in seconds, so the same input gives the same
# result on any machine: per search (ties in scores otherwise let one search wander through
# thousands of zero-gain paths) and in all (a realistic round needs about 20 per vertex).
NODES_PER_SEARCH = 256
NODES_PER_VERTEX = 200
# A group grows to four only when the newcomer's mean score to the three is this close.
GROW_TOLERANCE = 10
GROUP_ROUNDS = 20

Adjacency = dict[int, dict[int, int]]


@dataclass(frozen=True)
class Pairing:
    """The outcome of a round: pairs and small groups, who is left out, and the pair total."""

    groups: tuple[tuple[int, ...], ...]  # each sorted; size 2 (a pair) or 3-4 (a group)
    unmatched: tuple[int, ...]  # sorted
    total: int  # sum of the pair scores, over pairs (size 2) only

    @property
    def pairs(self) -> tuple[tuple[int, ...], ...]:
        """The groups of two."""
        return tuple(g for g in self.groups if len(g) == 2)

    @property
    def small_groups(self) -> tuple[tuple[int, ...], ...]:
        """The groups of three or four."""
        return tuple(g for g in self.groups if len(g) > 2)

    @property
    def matched_count(self) -> int:
        """How many members are in a pair or a group."""
        return sum(len(g) for g in self.groups)


def group_score(group: Sequence[int], edges: Mapping[tuple[int, int], int]) -> int:
    """The mean pairwise score of a pair or group, rounded half up; every pair needs an edge."""
    members = sorted(group)
    if len(members) < 2:
        raise ValueError("a group needs at least two members")
    scores = []
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            score = edges.get((a, b))
            if score is None:
                raise ValueError(f"no edge between {a} and {b}")
            scores.append(score)
    return (2 * sum(scores) + len(scores)) // (2 * len(scores))


def max_weight_pairs(
    members: Sequence[int], edges: Mapping[tuple[int, int], int]
) -> tuple[list[tuple[int, int]], int]:
    """A (near-)maximum-weight matching among `members`: the sorted pairs and their total."""
    nodes = sorted(set(members))
    adjacency = _adjacency(nodes, _clean_edges(set(nodes), edges, frozenset()))
    pairs = _match(nodes, adjacency)
    return pairs, sum(adjacency[a][b] for a, b in pairs)


def best_pairing(
    members: Sequence[int],
    edges: Mapping[tuple[int, int], int],
    group_wanters: AbstractSet[int] = frozenset(),
    *,
    forbidden: AbstractSet[tuple[int, int]] = frozenset(),
) -> Pairing:
    """Groups of 3-4 among the group wanters, then the best pairs among everyone left."""
    nodes = sorted(set(members))
    adjacency = _adjacency(nodes, _clean_edges(set(nodes), edges, forbidden))
    groups = _form_groups(sorted(set(group_wanters).intersection(nodes)), adjacency)
    grouped = {m for g in groups for m in g}
    pool = [m for m in nodes if m not in grouped]
    pool_set = set(pool)
    pool_adjacency = {v: {u: w for u, w in adjacency[v].items() if u in pool_set} for v in pool}
    pairs = _match(pool, pool_adjacency)
    paired = {m for p in pairs for m in p}
    return Pairing(
        groups=tuple(sorted([*groups, *pairs])),
        unmatched=tuple(m for m in pool if m not in paired),
        total=sum(adjacency[a][b] for a, b in pairs),
    )


def _clean_edges(
    members: AbstractSet[int],
    edges: Mapping[tuple[int, int], int],
    forbidden: AbstractSet[tuple[int, int]],
) -> dict[tuple[int, int], int]:
    """The usable edges: both ends among `members`, not forbidden, keyed (low, high)."""
    banned = {(min(a, b), max(a, b)) for a, b in forbidden}
    kept: dict[tuple[int, int], int] = {}
    for (a, b), score in edges.items():
        if a == b:
            raise ValueError(f"edge from {a} to itself")
        if score < 1:
            raise ValueError(f"edge ({a}, {b}) has score {score}, below 1")
        key = (a, b) if a < b else (b, a)
        if edges.get((key[1], key[0]), score) != score:
            raise ValueError(f"edge ({a}, {b}) given twice with different scores")
        if a in members and b in members and key not in banned:
            kept[key] = score
    return kept


def _adjacency(nodes: Sequence[int], edges: Mapping[tuple[int, int], int]) -> Adjacency:
    """Each node's neighbours with their scores."""
    adjacency: Adjacency = {v: {} for v in nodes}
    for (a, b), score in edges.items():
        adjacency[a][b] = score
        adjacency[b][a] = score
    return adjacency


# ---------------------------------------------------------------------------------------
# Small groups


def _value6(pair_sum: int, size: int) -> int:
    """Six times a group's worth (mean score x size / 2 = pair sum / (size - 1)), exact."""
    return 6 * pair_sum // (size - 1)


class _Groups:
    """Groups of 3-4 among the wanters: a greedy seed, then local moves that raise the worth."""

    def __init__(self, wanters: list[int], adjacency: Adjacency) -> None:
        wanted = set(wanters)
        self.wanters = wanters
        self.adj = {v: {u: w for u, w in adjacency[v].items() if u in wanted} for v in wanters}
        self.group_of: dict[int, int] = {}
        self.groups: list[list[int]] = []

    def sum_of(self, members: Sequence[int]) -> int:
        """The sum of the pairwise scores (the caller ensures every edge exists)."""
        return sum(self.adj[a][b] for i, a in enumerate(members) for b in members[i + 1 :])

    def free(self, v: int) -> bool:
        """Whether a wanter is in no group yet."""
        return v not in self.group_of

    def common_free(self, members: Sequence[int]) -> list[int]:
        """Free wanters adjacent to every one of `members`, ascending."""
        first, *rest = members
        return sorted(
            u for u in self.adj[first] if self.free(u) and all(u in self.adj[m] for m in rest)
        )

    def place(self, members: list[int]) -> None:
        """Record a new group."""
        self.groups.append(sorted(members))
        for m in members:
            self.group_of[m] = len(self.groups) - 1

    def set_group(self, index: int, members: list[int]) -> None:
        """Replace the members of an existing group."""
        for m in self.groups[index]:
            del self.group_of[m]
        self.groups[index] = sorted(members)
        for m in members:
            self.group_of[m] = index

    def seed_triangles(self) -> bool:
        """Form disjoint triangles of free wanters, best mean first."""
        triangles = []
        for a in self.wanters:
            if not self.free(a):
                continue
            higher = sorted(b for b in self.adj[a] if b > a and self.free(b))
            for i, b in enumerate(higher):
                for c in higher[i + 1 :]:
                    if c in self.adj[b]:
                        total = self.adj[a][b] + self.adj[a][c] + self.adj[b][c]
                        triangles.append((-total, a, b, c))
        triangles.sort()
        formed = False
        for _, a, b, c in triangles:
            if self.free(a) and self.free(b) and self.free(c):
                self.place([a, b, c])
                formed = True
        return formed

    def grow(self) -> bool:
        """Add a fourth member to triangles when the newcomer fits nearly as well and adds worth."""
        grown = False
        for index, group in enumerate(self.groups):
            if len(group) != 3:
                continue
            pair_sum = self.sum_of(group)
            best: tuple[int, int] | None = None
            for d in self.common_free(group):
                to_d = sum(self.adj[d][m] for m in group)
                # mean(d) >= mean(group) - tolerance, with both means over three scores
                fits = to_d >= pair_sum - 3 * GROW_TOLERANCE
                adds = _value6(pair_sum + to_d, 4) > _value6(pair_sum, 3)
                if fits and adds and (best is None or to_d > best[0]):
                    best = (to_d, d)
            if best is not None:
                self.set_group(index, [*group, best[1]])
                grown = True
        return grown

    def swap_members(self) -> bool:
        """Replace a member by a free wanter when that raises the group's worth."""
        swapped = False
        for index, group in enumerate(self.groups):
            current = self.sum_of(group)
            best: tuple[int, int, int] | None = None  # (new sum, out, in)
            for out in group:
                rest = [m for m in group if m != out]
                rest_sum = current - sum(self.adj[out][m] for m in rest)
                for new in self.common_free(rest):
                    total = rest_sum + sum(self.adj[new][m] for m in rest)
                    if total > current and (best is None or total > best[0]):
                        best = (total, out, new)
            if best is not None:
                _, out, new = best
                self.set_group(index, [m for m in group if m != out] + [new])
                swapped = True
        return swapped

    def split_fours(self) -> bool:
        """Let a group of four give up a member who seeds a new triangle with two free wanters."""
        split = False
        for index in range(len(self.groups)):  # not the triangles this loop adds
            group = self.groups[index]
            if len(group) != 4:
                continue
            current = _value6(self.sum_of(group), 4)
            best: tuple[int, int, int, int] | None = None  # (new worth, out, b, c)
            for out in group:
                rest = [m for m in group if m != out]
                kept = _value6(self.sum_of(rest), 3)
                partners = sorted(u for u in self.adj[out] if self.free(u))
                for i, b in enumerate(partners):
                    for c in partners[i + 1 :]:
                        if c in self.adj[b]:
                            worth = kept + _value6(self.sum_of([out, b, c]), 3)
                            if worth > current and (best is None or worth > best[0]):
                                best = (worth, out, b, c)
            if best is not None:
                _, out, b, c = best
                self.set_group(index, [m for m in group if m != out])
                self.place([out, b, c])
                split = True
        return split

    def run(self) -> list[tuple[int, ...]]:
        """Seed, then improve until no move helps (each move raises the worth, so this ends)."""
        self.seed_triangles()
        self.grow()
        for _ in range(GROUP_ROUNDS):
            changed = self.swap_members()
            changed |= self.split_fours()
            changed |= self.seed_triangles()
            changed |= self.grow()
            if not changed:
                break
        return [tuple(g) for g in self.groups]


def _form_groups(wanters: list[int], adjacency: Adjacency) -> list[tuple[int, ...]]:
    """Groups of 3-4 among `wanters`, every pair inside joined by an edge."""
    if len(wanters) < 3:
        return []
    return _Groups(wanters, adjacency).run()


# ---------------------------------------------------------------------------------------
# Pairs


def _components(nodes: Sequence[int], adjacency: Adjacency) -> list[list[int]]:
    """The connected components of the graph, each sorted, in order of their lowest node."""
    seen: set[int] = set()
    components = []
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        component, stack = [start], [start]
        while stack:
            for u in adjacency[stack.pop()]:
                if u not in seen:
                    seen.add(u)
                    component.append(u)
                    stack.append(u)
        components.append(sorted(component))
    return components


def _match(nodes: Sequence[int], adjacency: Adjacency) -> list[tuple[int, int]]:
    """Sorted pairs of a maximum-weight matching: exact on small components, else near it."""
    pairs: list[tuple[int, int]] = []
    large: list[int] = []
    for component in _components(nodes, adjacency):
        if len(component) == 2:
            pairs.append((component[0], component[1]))
        elif len(component) <= EXACT_COMPONENT_LIMIT:
            pairs.extend(_exact_matching(component, adjacency))
        else:
            large.extend(component)
    if large:
        pairs.extend(_LocalSearch(sorted(large), adjacency).run())
    return sorted(pairs)


def _exact_matching(component: list[int], adjacency: Adjacency) -> list[tuple[int, int]]:
    """The optimum matching of a small component, by memoised search over vertex subsets."""
    index = {v: i for i, v in enumerate(component)}
    neighbours = [sorted((index[u], w) for u, w in adjacency[v].items()) for v in component]
    memo: dict[int, tuple[int, int]] = {0: (0, -1)}

    def best(mask: int) -> int:
        found = memo.get(mask)
        if found is not None:
            return found[0]
        # The lowest remaining vertex is either left out or paired: every matching once.
        low = (mask & -mask).bit_length() - 1
        rest = mask & ~(1 << low)
        value, partner = best(rest), -1
        for j, w in neighbours[low]:
            if rest >> j & 1:
                candidate = w + best(rest & ~(1 << j))
                if candidate > value:
                    value, partner = candidate, j
        memo[mask] = (value, partner)
        return value

    mask = (1 << len(component)) - 1
    best(mask)
    pairs = []
    while mask:
        low = (mask & -mask).bit_length() - 1
        partner = memo[mask][1]
        mask &= ~(1 << low)
        if partner >= 0:
            mask &= ~(1 << partner)
            pairs.append((component[low], component[partner]))
    return pairs


# A search from a root r removes r's matched edge (if any), then alternately adds an edge
# from the free end and removes the new partner's old edge, stopping at a free vertex,
# leaving the last partner single, or closing the cycle back to r's old mate. A matching
# is optimal exactly when no such path or cycle gains, so searching from every vertex
# approaches the optimum. Steps are followed only while the running gain stays positive
# after each added edge: every improving cycle has a starting point where that holds.
class _LocalSearch:
    """A greedy matching, then improved along short alternating paths and cycles."""

    def __init__(self, nodes: list[int], adjacency: Adjacency) -> None:
        self.ids = nodes
        index = {v: i for i, v in enumerate(nodes)}
        self.weight = [{index[u]: w for u, w in adjacency[v].items()} for v in nodes]
        # Best first, ties by index, so the greedy and the search are deterministic.
        self.neighbours = [
            sorted(((w, u) for u, w in weights.items()), key=lambda e: (-e[0], e[1]))
            for weights in self.weight
        ]
        self.mate = [-1] * len(nodes)
        self.mate_weight = [0] * len(nodes)

    def run(self) -> list[tuple[int, int]]:
        """The matched pairs as sorted id tuples."""
        self.greedy()
        self.improve()
        ids = self.ids
        return [(ids[v], ids[u]) for v, u in enumerate(self.mate) if v < u]

    def greedy(self) -> None:
        """Take edges best first whenever both ends are still free."""
        edges = sorted(
            (-w, v, u) for v, weights in enumerate(self.weight) for u, w in weights.items() if v < u
        )
        mate = self.mate
        for negative, v, u in edges:
            if mate[v] < 0 and mate[u] < 0:
                self.link(v, u, -negative)

    def link(self, v: int, u: int, w: int) -> None:
        """Match v and u."""
        self.mate[v], self.mate[u] = u, v
        self.mate_weight[v] = self.mate_weight[u] = w

    def unlink(self, v: int) -> None:
        """Leave v and its mate single."""
        u = self.mate[v]
        self.mate[v] = self.mate[u] = -1
        self.mate_weight[v] = self.mate_weight[u] = 0

    def improve(self) -> None:
        """Search from every vertex, again near every change, until nothing improves."""
        n = len(self.ids)
        queue = deque(range(n))
        queued = [True] * n
        budget = NODES_PER_VERTEX * n
        while queue and budget > 0:
            root = queue.popleft()
            queued[root] = False
            move, used = self.search(root)
            budget -= used
            if move is None:
                continue
            for v in self.apply(root, *move):
                for u in (v, *(u for _, u in self.neighbours[v])):
                    if not queued[u]:
                        queued[u] = True
                        queue.append(u)

    def search(self, root: int) -> tuple[tuple[list[tuple[int, int, int]], bool] | None, int]:
        """The best move found from `root` (steps, closes a cycle?) or None, and nodes used."""
        mate, mate_weight, weight, neighbours = (
            self.mate,
            self.mate_weight,
            self.weight,
            self.neighbours,
        )
        old = mate[root]
        visited = {root, old}
        steps: list[tuple[int, int, int]] = []
        best_gain = 0
        best_move: tuple[list[tuple[int, int, int]], bool] | None = None
        nodes = 0

        def explore(x: int, gain: int, depth: int) -> bool:
            nonlocal best_gain, best_move, nodes
            nodes += 1
            onward = []
            for w, y in neighbours[x]:
                added = gain + w
                if added <= 0:
                    break  # neighbours come best first: no later step keeps the gain positive
                if y in visited:
                    continue
                z = mate[y]
                if z < 0:
                    if added > best_gain:
                        best_gain, best_move = added, ([*steps, (x, y, -1)], False)
                    continue
                removed = added - mate_weight[y]
                if removed > best_gain:
                    best_gain, best_move = removed, ([*steps, (x, y, z)], False)
                if old >= 0:
                    closing = weight[z].get(old)
                    if closing is not None and removed + closing > best_gain:
                        best_gain, best_move = removed + closing, ([*steps, (x, y, z)], True)
                if depth < MAX_DEPTH:
                    onward.append((removed, y, z))
            if best_move is not None:
                return True
            onward.sort(key=lambda step: (-step[0], step[1]))
            for removed, y, z in onward[: BREADTH[depth]]:
                if nodes >= NODES_PER_SEARCH:
                    return False
                visited.add(y)
                visited.add(z)
                steps.append((x, y, z))
                found = explore(z, removed, depth + 1)
                steps.pop()
                visited.discard(y)
                visited.discard(z)
                if found:
                    return True
            return False

        explore(root, -mate_weight[root], 1)
        return best_move, nodes

    def apply(self, root: int, steps: list[tuple[int, int, int]], closes: bool) -> list[int]:
        """Carry out a move found by `search`; the vertices whose mate changed."""
        old = self.mate[root]
        touched = [root]
        if old >= 0:
            self.unlink(root)
            touched.append(old)
        for _, y, z in steps:
            if z >= 0:
                self.unlink(y)
                touched.append(z)
            touched.append(y)
        for x, y, _ in steps:
            self.link(x, y, self.weight[x][y])
        if closes:
            last = steps[-1][2]
            self.link(last, old, self.weight[last][old])
        return touched
