"""check.value_backward: the whole backward pass of the scalar engine, pass and diagnose."""

import pytest

from bpkit import Value, check
from bpkit.check import ExerciseFailed
from bpkit.graph import topological_order
from tests.checkers import assert_diagnosis, assert_passes


def value_backward_ok(root):
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        for parent, local in zip(node._parents, node._local):
            parent.grad += local * node.grad


def _own_topological_sort(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node._parents) if id(p) not in visited)
    return order


def value_backward_own_sort(root):
    root.grad = 1.0
    for node in reversed(_own_topological_sort(root)):
        for parent, local in zip(node._parents, node._local):
            parent.grad += local * node.grad


def value_backward_dict(root):
    # Sums in a dict first, then writes every node's grad: a different order of additions.
    grads = {id(root): 1.0}
    order = topological_order(root)
    for node in reversed(order):
        for parent, local in zip(node._parents, node._local):
            grads[id(parent)] = grads.get(id(parent), 0.0) + local * grads.get(id(node), 0.0)
    for node in order:
        node.grad = grads.get(id(node), 0.0)


@pytest.mark.parametrize("fn", [value_backward_ok, value_backward_own_sort, value_backward_dict])
def test_value_backward_accepts_right_answers(fn, capsys):
    assert_passes(check.value_backward, fn, capsys)


def test_value_backward_success_line(capsys):
    check.value_backward(value_backward_ok)
    assert capsys.readouterr().out == (
        "✓ value_backward: correct on 5 cases (every node's .grad = d root / d node)\n"
    )


# --- one buggy answer per diagnosis --------------------------------------------------------------
def _loop(root, order, update, seed=1.0):
    root.grad = seed
    for node in order:
        for parent, local in zip(node._parents, node._local):
            update(parent, local, node)


def assign_not_add(root):
    def update(parent, local, node):
        parent.grad = local * node.grad

    _loop(root, reversed(topological_order(root)), update)


def not_seeded(root):
    for node in reversed(topological_order(root)):
        for parent, local in zip(node._parents, node._local):
            parent.grad += local * node.grad


def forwards(root):
    def update(parent, local, node):
        parent.grad += local * node.grad

    _loop(root, topological_order(root), update)


def breadth_first(root):
    order, seen, frontier = [], {id(root)}, [root]
    while frontier:
        order.extend(frontier)
        following = []
        for node in frontier:
            for parent in node._parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    following.append(parent)
        frontier = following

    def update(parent, local, node):
        parent.grad += local * node.grad

    _loop(root, order, update)


def r_too_early(root):
    # Reversed topological order, except that 'r' is processed right after 'u',
    # before 's' (which also uses r) has added its share.
    order = list(reversed(topological_order(root)))
    early = [n for n in order if n.label == "r"]
    if early:
        order.remove(early[0])
        order.insert(next(i for i, n in enumerate(order) if n.label == "u") + 1, early[0])

    def update(parent, local, node):
        parent.grad += local * node.grad

    _loop(root, order, update)


def local_only(root):
    def update(parent, local, node):
        parent.grad += local

    _loop(root, reversed(topological_order(root)), update)


def upstream_only(root):
    def update(parent, local, node):
        parent.grad += node.grad

    _loop(root, reversed(topological_order(root)), update)


def leaves_only(root):
    grads = {id(root): 1.0}
    order = topological_order(root)
    for node in reversed(order):
        for parent, local in zip(node._parents, node._local):
            grads[id(parent)] = grads.get(id(parent), 0.0) + local * grads[id(node)]
    root.grad = 1.0
    for node in order:
        if not node._parents:
            node.grad = grads[id(node)]


def skips_leaves(root):
    def update(parent, local, node):
        if parent._parents:
            parent.grad += local * node.grad

    _loop(root, reversed(topological_order(root)), update)


def recursive(root):
    order, visited = [], set()

    def visit(node):
        if id(node) not in visited:
            visited.add(id(node))
            for parent in node._parents:
                visit(parent)
            order.append(node)

    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node._parents, node._local):
            parent.grad += local * node.grad


def returns_the_grads(root):
    grads = {id(root): 1.0}
    for node in reversed(topological_order(root)):
        for parent, local in zip(node._parents, node._local):
            grads[id(parent)] = grads.get(id(parent), 0.0) + local * grads[id(node)]
    return grads


def steps_the_data(root):
    value_backward_ok(root)
    for node in topological_order(root):
        node.data -= 0.1 * node.grad


def cuts_the_graph(root):
    value_backward_ok(root)
    root._parents = ()


def calls_backward(root):
    root.backward()


def multiplies_by_the_node(root):
    def update(parent, local, node):
        parent.grad += local * node

    _loop(root, reversed(topological_order(root)), update)


BUGS = [
    (assign_not_add, ["'b' is used 2 times", "by 'c' twice", "must add up: use +="]),
    (not_seeded, ["every .grad is still 0", "seed root.grad = 1.0"]),
    (forwards, ["walked the topological order forwards", "reversed(order)"]),
    (breadth_first, ["the order is wrong", "distance from root", "case 3"]),
    (r_too_early, ["the order is wrong", "before that gradient was complete", "case 4"]),
    (local_only, ["the local derivative alone", "parent.grad += local * node.grad"]),
    (upstream_only, ["without the local derivative"]),
    (leaves_only, ["intermediate nodes are missing", "'b'.grad is still 0"]),
    (skips_leaves, ["grads of leaves (nodes without parents) are missing", "'x'.grad"]),
    (recursive, ["RecursionError", "tanh nodes", "topological_order(root)", "case 5"]),
    (returns_the_grads, ["returned dict but every .grad is still 0", "returns nothing"]),
    (steps_the_data, ["changed", ".data", "only writes .grad"]),
    (cuts_the_graph, ["changed the graph at 'c'; only read it"]),
    (calls_backward, ["you called .backward()", "write the loop yourself"]),
    (multiplies_by_the_node, [".grad is a Value, not a float", "not by the node itself"]),
]


@pytest.mark.parametrize("fn, fragments", BUGS, ids=[fn.__name__ for fn, _ in BUGS])
def test_value_backward_names_each_bug(fn, fragments):
    assert_diagnosis(check.value_backward, fn, fragments)


def test_value_backward_puts_bpkits_own_backward_back():
    original = Value.backward
    with pytest.raises(ExerciseFailed):
        check.value_backward(calls_backward)
    with pytest.raises(ExerciseFailed):
        check.value_backward(lambda root: 1 / 0)
    assert Value.backward is original
