"""Checkers for the scalar engine exercises (lecture 2): local derivatives and the graph walk."""

import itertools
import math
import sys

from bpkit.check._core import Bug, Exercise, checker
from bpkit.scalar import Value

__all__ = ["value_mul_backward", "value_tanh_backward", "topological_sort"]


@checker
def value_mul_backward(student_fn):
    """Check ``value_mul_backward(a, b, dout) -> (da, db)`` for ``out = a * b`` on floats.

    Inputs: a, b the two factors, dout = dLoss/dout (floats).
    Return two floats: da = b * dout, db = a * dout (local derivative times upstream gradient).
    Recognises: swapped (da = a * dout), forgot dout, both, the rule for + (da = dout), sign.
    """
    ex = Exercise(
        "value_mul_backward",
        student_fn,
        returns=("da", "db"),
        signature="value_mul_backward(a, b, dout) -> (da, db)",
        formulas={"da": "da = b * dout", "db": "db = a * dout"},
    )
    for a, b, dout in [(2.0, -3.0, 0.5), (-1.5, 4.0, -2.0), (0.25, 3.0, 1.5)]:
        bugs = [
            Bug(
                "da and db are swapped: d(a*b)/da is b, the OTHER factor: "
                "da = b * dout, db = a * dout",
                da=a * dout,
                db=b * dout,
            ),
            Bug(
                "you forgot the upstream gradient dout: local derivative times upstream gradient, "
                "da = b * dout",
                da=b,
                db=a,
            ),
            Bug(
                "da and db are swapped AND dout is missing: da = b * dout, db = a * dout",
                da=a,
                db=b,
            ),
            Bug(
                "that is the rule for +, which passes dout through; for * each input gets the "
                "other factor times dout: da = b * dout",
                da=dout,
                db=dout,
            ),
        ]
        ex.case(dict(a=a, b=b, dout=dout), dict(da=b * dout, db=a * dout), bugs)
    ex.passed()


@checker
def value_tanh_backward(student_fn):
    """Check ``value_tanh_backward(x, dout) -> dx`` for ``out = tanh(x)`` on floats.

    Inputs: x the input (a float, the pre-activation), dout = dLoss/dout.
    Return a float: dx = (1 - t**2) * dout with t = tanh(x).
    Recognises: 1 - x**2 (pre- instead of post-activation), forgot dout, forgot the
    square (1 - t), squared the wrong thing (1 - t)**2, returned t, sigmoid's form
    t * (1 - t), sign.
    """
    ex = Exercise(
        "value_tanh_backward",
        student_fn,
        returns="dx",
        signature="value_tanh_backward(x, dout) -> dx",
        formulas={"dx": "t = math.tanh(x); dx = (1 - t**2) * dout"},
    )
    for x, dout in [(0.7, 1.5), (-1.3, -0.8), (2.1, 0.3)]:
        t = math.tanh(x)
        bugs = [
            Bug(
                "you used x where tanh(x) belongs: this checker passes the pre-activation x, so "
                "compute t = math.tanh(x) first. The derivative is 1 - tanh(x)**2, i.e. 1 - t**2 "
                "with the OUTPUT t = tanh(x), not 1 - x**2",
                dx=(1 - x**2) * dout,
            ),
            Bug("you forgot the upstream gradient dout: dx = (1 - t**2) * dout", dx=1 - t**2),
            Bug(
                "you forgot the square: dx = (1 - t**2) * dout, not (1 - t) * dout",
                dx=(1 - t) * dout,
            ),
            Bug(
                "you squared the wrong thing: (1 - tanh(x))**2 squares the difference; the "
                "derivative is 1 - tanh(x)**2, the square of t = tanh(x) subtracted from 1: "
                "dx = (1 - t**2) * dout",
                dx=(1 - t) ** 2 * dout,
            ),
            Bug("dx is tanh(x), the forward value, not its derivative", dx=t),
            Bug("dx is tanh(x) * dout: use the derivative 1 - t**2, not t itself", dx=t * dout),
            Bug(
                "t * (1 - t) is the form of SIGMOID's derivative; tanh's is 1 - t**2",
                dx=t * (1 - t) * dout,
            ),
        ]
        ex.case(dict(x=x, dout=dout), (1 - t**2) * dout, bugs)
    ex.passed()


# --- topological sort --------------------------------------------------------------------------
def _graphs():
    """(description, root) for each case, simplest first; the deepest graph comes last.

    A leaf, a chain with a constant, a reused node, a richer graph, a node reached along
    paths of different lengths, and a chain deeper than Python's recursion limit.
    """
    leaf = Value(3.0, label="a")

    x = Value(0.5, label="x")
    y = x * 2.0
    y.label = "y"
    z = y.tanh()
    z.label = "z"
    chain = z + 1.0
    chain.label = "out"

    a = Value(1.5, label="a")
    b = a + a  # the same parent twice
    b.label = "b"
    reused = b + b
    reused.label = "c"

    p, q = Value(2.0, label="p"), Value(-1.0, label="q")
    r = p * q
    r.label = "r"
    s = r + p
    s.label = "s"
    u = s * r
    u.label = "u"
    root = u.tanh()
    root.label = "root"

    # 'a' is one step from the output directly and two steps through c: breadth-first
    # order (by distance from the output), reversed, puts c before its input a.
    a2 = Value(1.5, label="a")
    c2 = a2 * 2.0
    c2.label = "c"
    two_paths = a2 + c2
    two_paths.label = "root"

    graphs = [
        ("a single leaf", leaf),
        ("a chain out = tanh(x * 2) + 1", chain),
        ("a reused node: b = a + a; c = b + b", reused),
        ("r = p * q; s = r + p; u = s * r; root = tanh(u)", root),
        ("paths of different lengths to a: c = a * 2; root = a + c", two_paths),
        _deep_chain(),
    ]
    for _, g in graphs:  # give constants a name, so messages can point at every node
        for node in _reference_order(g):
            if not node.label:
                node.label = f"const {node.data:g}"
    return graphs


def _deep_chain():
    """(description, root) of a chain deeper than Python's recursion limit (1000 by default)."""
    depth = min(max(10_000, sys.getrecursionlimit() + 1_000), 100_000)
    node = Value(0.5, label="x")
    for i in range(1, depth + 1):
        node = node.tanh()
        node.label = f"t{i}"
    return f"a chain of {depth:,} tanh nodes: t1 = tanh(x), t2 = tanh(t1), ...", node


def _distances(root):
    """id(node) -> the number of steps on the SHORTEST path from the node to root."""
    distance, frontier = {id(root): 0}, [root]
    while frontier:
        following = []
        for node in frontier:
            for parent in node._parents:
                if id(parent) not in distance:
                    distance[id(parent)] = distance[id(node)] + 1
                    following.append(parent)
        frontier = following
    return distance


def _reference_order(root):
    """Each node after its parents, root last: a depth-first walk with an explicit stack."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node._parents) if id(p) not in seen)
    return order


def _first_violation(order):
    """(child, parent) for the first node listed before one of its parents, else None."""
    position = {id(n): i for i, n in enumerate(order)}
    for i, node in enumerate(order):
        for parent in node._parents:
            if position.get(id(parent), -1) > i:
                return node, parent
    return None


def _steps(n):
    return "1 step" if n == 1 else f"{n} steps"


def _name(node):
    return f"'{node.label}'" if isinstance(node, Value) and node.label else repr(node)


@checker
def topological_sort(student_fn):
    """Check ``topological_sort(root) -> list`` of ``bpkit.Value`` nodes.

    Input: root, a Value; each node's inputs are in ``node._parents`` (a tuple; the
    property ``node.parents`` gives the same). Return a list holding every node root
    depends on (leaves and constants included) exactly once, each node after all of
    its parents, root last.
    Recognises: reversed order, duplicates when a node is reused, missing nodes
    (leaves, root), a node before its parent, breadth-first order by distance from
    root (reversed), recursion too deep for a long chain (RecursionError), not a
    list, items that are not Values.
    """
    ex = Exercise(
        "topological_sort",
        student_fn,
        returns="order",
        signature="topological_sort(root) -> list of Values",
        sequence=True,
    )
    for description, root in _graphs():
        nodes = _reference_order(root)
        parents_before = [node._parents for node in nodes]
        limit = sys.getrecursionlimit()
        hints = None
        if len(nodes) > limit:
            hints = {
                "RecursionError": f"the graph here is {description} ({len(nodes):,} nodes). A "
                "recursive walk makes one Python call per node along the path, and Python stops "
                f"at sys.getrecursionlimit() = {limit:,} nested calls; real networks make graphs "
                "this deep. Don't recurse: keep your own stack in a list (push a node, pop it, "
                "push its parents) and loop while the stack is not empty"
            }
        (order,), where = ex.call(dict(root=root), error_hints=hints)
        where = f"case {ex.cases}: {description}"
        if any(node._parents is not was for node, was in zip(nodes, parents_before)):
            ex.fail("your function changed the graph (a node's _parents); only read it", where)
        if order is None:
            ex.fail("returned None. Did you forget `return order`?", where)
        if not isinstance(order, list):
            wrap = " (wrap it: list(...))" if not isinstance(order, (str, bytes)) else ""
            ex.fail(f"returned a {type(order).__name__}; return a list{wrap}", where)
        for i, item in enumerate(order):
            if not isinstance(item, Value):
                what = (
                    "a number: return the nodes themselves, not their .data"
                    if isinstance(item, (int, float))
                    else f"a {type(item).__name__}"
                )
                ex.fail(f"item {i} of your list is {what}; the list must hold Value nodes", where)
        counts = {}
        for item in order:
            counts[id(item)] = counts.get(id(item), 0) + 1
        repeated = [n for n in nodes if counts.get(id(n), 0) > 1]
        if repeated:
            node = repeated[0]
            ex.fail(
                f"node {_name(node)} appears {counts[id(node)]} times. A node used twice (by two "
                "children, or twice by one, like b = a + a) must be listed once: keep a set of "
                "visited ids, `if id(node) not in visited: visited.add(id(node)); ...`",
                where,
            )
        known = {id(n) for n in nodes}
        strangers = [item for item in order if id(item) not in known]
        if strangers:
            ex.fail(
                f"{_name(strangers[0])} is not in root's graph; list only nodes root depends on",
                where,
            )
        missing = [n for n in nodes if id(n) not in counts]
        if missing:
            leaves = all(not n._parents for n in missing)
            what = (
                "the root itself (it goes last)"
                if len(missing) == 1 and missing[0] is root
                else ("leaves (nodes with no parents are nodes too)" if leaves else "nodes")
            )
            names = ", ".join(_name(n) for n in missing[:4])
            ex.fail(
                f"{len(missing)} of {len(nodes)} nodes are missing, {what}: {names}. Visit every "
                "parent of every node, then append the node itself",
                where,
            )
        if _first_violation(order):
            if _first_violation(order[::-1]) is None:
                ex.fail(
                    "the order is reversed: each node must come AFTER all of its parents, with "
                    "root last (backward then walks reversed(order))",
                    where,
                )
            child, parent = _first_violation(order)
            distance = _distances(root)
            steps = [distance[id(n)] for n in order]
            if all(near <= far for far, near in itertools.pairwise(steps)):
                ex.fail(
                    f"{_name(child)} comes before its parent {_name(parent)}: a node comes "
                    "before one of its inputs (ordering by distance from the output is not a "
                    f"topological order). {_name(parent)} is {_steps(distance[id(parent)])} from "
                    f"root along its shortest path, but {_steps(distance[id(child)] + 1)} through "
                    f"{_name(child)}, which needs it first. Append a node only after ALL of its "
                    "parents, however long the path to them (a depth-first walk that appends a "
                    "node after visiting its parents)",
                    where,
                )
            ex.fail(
                f"{_name(child)} comes before its parent {_name(parent)}; a node may only be "
                "appended after all of its parents (append after visiting them, not before)",
                where,
            )
    ex.passed("every node once, parents before children, root last")
