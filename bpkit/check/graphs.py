"""Checkers for the scalar engine exercises (lecture 2): local derivatives and the graph walk."""

import itertools
import math
import numbers
import sys

from bpkit.check._core import Bug, Exercise, checker, shape_text
from bpkit.graph import topological_order
from bpkit.scalar import Value

__all__ = ["value_mul_backward", "value_tanh_backward", "topological_sort", "value_backward"]


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
        reference=lambda a, b, dout: (b * dout, a * dout),
    )
    # No factor is 1 or 2 and no dout is 0.5, 1 or 2: a bug must not look like another one
    # (db = 2 * a * dout equals "forgot dout" when dout = 0.5).
    for a, b, dout in [(1.7, -3.2, 0.6), (-1.3, 4.1, -2.3), (0.35, 2.9, 1.45)]:
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
        reference=lambda x, dout: (1 - math.tanh(x) ** 2) * dout,
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
        for node in topological_order(g):
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
        nodes = topological_order(root)
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


# --- the whole backward pass -------------------------------------------------------------------
def _backward_graphs():
    """(description, build) for each case: ``build()`` makes a fresh graph and returns its root.

    Each graph is built twice, once for the learner and once for bpkit's own backward().
    """

    def reused():
        a = Value(1.5, label="a")
        b = a + a
        b.label = "b"
        c = b * b
        c.label = "c"
        return c

    def diamond():
        x, y = Value(0.8, label="x"), Value(-1.2, label="y")
        u = x * y
        u.label = "u"
        v = x.tanh()
        v.label = "v"
        root = u * v
        root.label = "root"
        return root

    def two_paths():
        # 'a' is one step from root directly and two steps through c: processing nodes by
        # distance from root passes a's gradient on before c has added its share.
        x = Value(0.4, label="x")
        a = x * 3.0
        a.label = "a"
        c = a.tanh()
        c.label = "c"
        root = a * c
        root.label = "root"
        return root

    def richer():
        p, q = Value(2.0, label="p"), Value(-1.5, label="q")
        r = p * q
        r.label = "r"
        s = r + p
        s.label = "s"
        u = s * r
        u.label = "u"
        w = u * 0.3
        w.label = "w"
        root = w.tanh()
        root.label = "root"
        return root

    depth = min(max(2_000, sys.getrecursionlimit() + 1_000), 100_000)

    def chain():
        node = Value(0.5, label="x")
        for i in range(1, depth + 1):
            node = node.tanh()
            node.label = f"t{i}"
        return node

    return [
        ("a reused node: b = a + a; c = b * b", reused),
        ("a diamond: u = x * y; v = tanh(x); root = u * v", diamond),
        ("paths of different lengths to a: a = x * 3; c = tanh(a); root = a * c", two_paths),
        ("r = p * q; s = r + p; u = s * r; w = u * 0.3; root = tanh(w)", richer),
        (f"a chain of {depth:,} tanh nodes: t1 = tanh(x), t2 = tanh(t1), ...", chain),
    ]


def _simulate(nodes, order, seed=1.0, accumulate=True):
    """Grads (by position in ``nodes``) of the backward loop run in ``order`` (positions)."""
    index = {id(n): i for i, n in enumerate(nodes)}
    grads = [0.0] * len(nodes)
    grads[-1] = seed
    for i in order:
        for parent, local in zip(nodes[i]._parents, nodes[i]._local):
            j = index[id(parent)]
            grads[j] = grads[j] + local * grads[i] if accumulate else local * grads[i]
    return grads


def _by_distance(nodes):
    """Positions of ``nodes`` in breadth-first order from root (the last node): a wrong order."""
    index = {id(n): i for i, n in enumerate(nodes)}
    order, seen, frontier = [], {len(nodes) - 1}, [len(nodes) - 1]
    while frontier:
        order.extend(frontier)
        following = []
        for i in frontier:
            for parent in nodes[i]._parents:
                if index[id(parent)] not in seen:
                    seen.add(index[id(parent)])
                    following.append(index[id(parent)])
        frontier = following
    return order


def _uses(nodes, i):
    """(child position, local derivative) for every use of node i as an input."""
    return [
        (k, local)
        for k, child in enumerate(nodes)
        for parent, local in zip(child._parents, child._local)
        if parent is nodes[i]
    ]


def _users(nodes, uses):
    """ "by 'c' twice" or "by 'u' and 'v'": who uses a node."""
    counts = {}
    for k, _ in uses:
        counts[k] = counts.get(k, 0) + 1
    names = [
        _name(nodes[k]) + (" twice" if n == 2 else f" {n} times" if n > 2 else "")
        for k, n in counts.items()
    ]
    return "by " + " and ".join(names)


def _certain(message):
    """A diagnosis that the graph at hand makes certain."""
    return message, True


def _diagnose_backward(nodes, got, want, same):
    """(message, certain) for the first thing wrong in the learner's grads ``got``.

    ``want`` holds the right grads. ``certain`` is False when this graph cannot tell two
    bugs apart (a later case may), True otherwise.
    """
    root = len(nodes) - 1
    forwards = (
        "you walked the topological order forwards (leaves first), so every node passed on "
        "its gradient before receiving it. Backward goes from root to the leaves: "
        "`for node in reversed(order)`"
    )
    if all(same(g, w) for g, w in zip(got, _simulate(nodes, range(len(nodes))))):
        inner = [i for i, n in enumerate(nodes) if n._parents]
        if all(same(got[i], want[i]) for i in inner):  # only leaves wrong: maybe skipped
            return (
                "the grads of leaves (nodes without parents) are missing; or " + forwards,
                False,
            )
        return forwards, True
    if all(same(g, w) for g, w in zip(got, _simulate(nodes, _by_distance(nodes)))):
        return _certain(
            "the order is wrong: a node reached along paths of different lengths passed its "
            "gradient on before the longer path had added its share (as when nodes are "
            "processed by their distance from root, breadth-first, or in the order a depth-first "
            "walk first meets them). Walk reversed(topological order): each node after every "
            "node that uses it"
        )
    leaves = [i for i, n in enumerate(nodes) if not n._parents]
    inner = [i for i, n in enumerate(nodes) if n._parents and i != root]
    wrong_inner = [i for i in inner if not same(got[i], want[i])]
    if wrong_inner and all(same(got[i], want[i]) for i in leaves):
        if all(got[i] == 0 for i in wrong_inner):
            return _certain(
                "the leaves' grads are right but intermediate nodes are missing: "
                f"{_name(nodes[wrong_inner[0]])}.grad is still 0, expected "
                f"{want[wrong_inner[0]]:.6g}. "
                "Every node's .grad must hold d root / d node, not only the inputs': write it "
                "into node.grad (parent.grad += ...) for every parent, intermediate nodes included"
            )
    wrong_leaves = [i for i in leaves if not same(got[i], want[i])]
    if wrong_leaves and not wrong_inner and all(got[i] == 0 for i in wrong_leaves):
        return _certain(
            "the grads of leaves (nodes without parents) are missing: "
            f"{_name(nodes[wrong_leaves[0]])}.grad is still 0, expected "
            f"{want[wrong_leaves[0]]:.6g}. "
            "A leaf passes nothing on, but it still receives local * node.grad from every node "
            "that uses it"
        )
    for i in reversed(range(len(nodes))):  # root first: the first wrong node's users are all right
        if same(got[i], want[i]):
            continue
        node = _name(nodes[i])
        if i == root:
            if got[i] == 0:
                return _certain(
                    f"root's grad was not seeded: {node}.grad is 0. d root / d root = 1, so set "
                    "root.grad = 1.0 before the loop; with 0 there, every product "
                    "local * node.grad is 0"
                )
            return _certain(
                f"{node}.grad (the root) is {got[i]:.6g}; it must be 1.0 (d root / d root = 1)"
            )
        uses = _uses(nodes, i)
        parts = [local * want[k] for k, local in uses]
        if got[i] == 0:
            return _certain(
                f"{node}.grad is still 0, expected {want[i]:.6g}. It is used "
                f"{_users(nodes, uses)}: did your loop reach every node, and every parent of "
                "each node?"
            )
        if len(uses) > 1 and any(same(got[i], p) and not same(p, want[i]) for p in parts):
            return _certain(
                f"{node} is used {len(uses)} times ({_users(nodes, uses)}) but its grad "
                f"{got[i]:.6g} is one use's contribution only; expected {want[i]:.6g}, the sum "
                f"{' + '.join(f'{p:.6g}' for p in parts)}. The gradients from every use must add "
                "up: use += (parent.grad += local * node.grad), not ="
            )
        if same(got[i], sum(local for _, local in uses)):
            return _certain(
                f"{node}.grad is {got[i]:.6g}, the local derivative alone; expected {want[i]:.6g}. "
                "Multiply by the upstream gradient: parent.grad += local * node.grad"
            )
        if same(got[i], sum(want[k] for k, _ in uses)):
            return _certain(
                f"{node}.grad is {got[i]:.6g}: you passed node.grad on without the local "
                f"derivative; expected {want[i]:.6g}. parent.grad += local * node.grad, with "
                "local from node._local"
            )
        return _certain(
            f"{node}.grad is {got[i]:.6g}, expected {want[i]:.6g} = the sum over its uses "
            f"({_users(nodes, uses)}) of local * their grad. Their own grads end up right, so one "
            "of them passed its gradient on to it before that gradient was complete: the order "
            "is wrong. Walk reversed(topological order), so that each node comes after every "
            "node that uses it"
        )
    return None, True


@checker
def value_backward(student_fn):
    """Check ``value_backward(root) -> None``: fill every node's ``.grad`` with d root / d node.

    Input: root, a Value whose graph has all grads 0; each node's inputs are
    ``node._parents`` and the local derivatives d node / d parent are ``node._local``
    (tuples in the same order). Fill ``.grad`` in place, in reversed topological order,
    with ``root.grad = 1.0`` and ``parent.grad += local * node.grad``; return None.
    Compared with bpkit's own ``root.backward()`` on an identical graph.
    Recognises: = instead of += (a reused node gets one use's share), root not seeded
    (all grads 0), walking the order forwards or by distance from root (a node passes its
    gradient on before it is complete), the local derivative alone (upstream gradient
    missing), the upstream gradient without the local derivative, intermediate nodes' or
    leaves' grads missing, recursion too deep for a long chain (RecursionError), a value
    returned but no .grad filled, a changed .data or graph, calling root.backward().
    """
    ex = Exercise(
        "value_backward",
        student_fn,
        returns="result",
        signature="value_backward(root) -> None",
        sequence=True,
    )
    pending = None  # a diagnosis this graph could not make certain; a later graph may
    for description, build in _backward_graphs():
        root, twin = build(), build()
        nodes, twins = topological_order(root), topological_order(twin)
        for node in nodes + twins:  # give constants a name, so messages can point at every node
            if not node.label:
                node.label = f"const {node.data:g}"
        twin.backward()
        want = [n.grad for n in twins]
        data_before = [n.data for n in nodes]
        graph_before = [(n._parents, n._local) for n in nodes]
        limit = sys.getrecursionlimit()
        hints = None
        if len(nodes) > limit:
            hints = {
                "RecursionError": f"the graph here is {description} ({len(nodes):,} nodes). A "
                "recursive walk makes one Python call per node along the path, and Python stops "
                f"at sys.getrecursionlimit() = {limit:,} nested calls. Don't recurse: use "
                "bpkit.graph.topological_order(root) (or your topological_sort, which keeps its "
                "own stack) and one loop over reversed(order)"
            }
        own_backward, calls = Value.backward, []

        def watched(self, _original=own_backward):
            calls.append(self)
            return _original(self)

        Value.backward = watched
        try:
            (result,), where = ex.call(dict(root=root), error_hints=hints)
        finally:
            Value.backward = own_backward
        where = f"case {ex.cases}: {description}"
        if calls:
            ex.fail(
                "you called .backward(), bpkit's own backward pass: write the loop yourself "
                "(topological order, then parent.grad += local * node.grad)",
                where,
            )
        for node, before, graph in zip(nodes, data_before, graph_before):
            if node.data != before and not (node.data != node.data and before != before):
                ex.fail(
                    f"your function changed {_name(node)}.data from {before:.6g} to "
                    f"{node.data:.6g}; backward only writes .grad",
                    where,
                )
            if node._parents is not graph[0] or node._local is not graph[1]:
                ex.fail(f"your function changed the graph at {_name(node)}; only read it", where)
        got = [n.grad for n in nodes]
        for node, g in zip(nodes, got):
            if isinstance(g, bool) or not isinstance(g, numbers.Real):
                hint = (
                    ": multiply by node.grad (a float), not by the node itself"
                    if isinstance(g, Value)
                    else ""
                )
                ex.fail(f"{_name(node)}.grad is a {type(g).__name__}, not a float{hint}", where)
        got = [float(g) for g in got]
        scale = max(abs(w) for w in want)

        def same(g, w, scale=scale):
            return math.isclose(g, w, rel_tol=1e-8, abs_tol=1e-12 * scale)

        if all(same(g, w) for g, w in zip(got, want)):
            continue
        if all(g == 0 for g in got):
            if result is not None:
                ex.fail(
                    f"returned {shape_text(result)} but every .grad is still 0. This function "
                    "returns nothing: it writes d root / d node into each node's .grad, starting "
                    "with root.grad = 1.0",
                    where,
                )
            ex.fail(
                "every .grad is still 0, root's too: seed root.grad = 1.0 first (d root / d root "
                "= 1); with 0 there, every product local * node.grad is 0",
                where,
            )
        message, certain = _diagnose_backward(nodes, got, want, same)
        if certain:
            ex.fail(message, where)
        pending = pending or (message, where)
    if pending:
        ex.fail(*pending)
    ex.passed("every node's .grad = d root / d node")
