"""The shared graph walk, on its own."""

from hypothesis import given
from hypothesis import strategies as st

from bpkit import Value
from bpkit.graph import topological_order


class Node:
    """A bare node: only what the walk needs."""

    def __init__(self, name, parents=()):
        self.name, self._parents = name, tuple(parents)


@st.composite
def dags(draw):
    n = draw(st.integers(1, 25))
    nodes = []
    for i in range(n):
        parents = draw(st.lists(st.sampled_from(nodes), max_size=3)) if nodes else []
        nodes.append(Node(i, parents))
    root = Node("root", nodes)
    return root, nodes


@given(dags())
def test_every_node_comes_after_its_parents(dag):
    root, nodes = dag
    order = topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is root
    assert len(position) == len(order)  # no duplicates
    assert len(order) == len(nodes) + 1
    for node in order:
        for parent in node._parents:
            assert position[id(parent)] < position[id(node)]


@given(dags())
def test_order_is_deterministic(dag):
    root, _ = dag
    assert [n.name for n in topological_order(root)] == [n.name for n in topological_order(root)]


def recursive_order(root):
    """The textbook depth-first post-order (parents in the order given), recursion and all."""
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node._parents:
                visit(parent)
            order.append(node)

    visit(root)
    return order


@given(dags())
def test_same_order_as_the_recursive_walk_notebook_02_derives(dag):
    root, _ = dag
    assert [n.name for n in topological_order(root)] == [n.name for n in recursive_order(root)]


def test_value_graph_with_a_reused_node():
    a = Value(3.0, label="a")
    b = a + a
    c = b + b
    order = topological_order(c)
    assert order == [a, b, c]  # each once, although b and a are each used twice
    leaf = Value(1.0)
    assert topological_order(leaf) == [leaf]


def test_diamond_and_reused_node_appear_once():
    a = Node("a")
    b, c = Node("b", [a]), Node("c", [a])
    d = Node("d", [b, c])
    assert [n.name for n in topological_order(d)] == ["a", "b", "c", "d"]
    x = Node("x")
    y = Node("y", [x, x])
    assert [n.name for n in topological_order(Node("z", [y, y]))] == ["x", "y", "z"]


def test_deep_chain():
    node = Node(0)
    for i in range(1, 200_000):
        node = Node(i, [node])
    order = topological_order(node)
    assert len(order) == 200_000 and order[0].name == 0


def test_naive_recursion_without_topological_order_is_wrong_or_exponential():
    """Why sort at all. Recursing from the root as soon as a node gets a gradient either
    (a) passes on the node's running total, counting earlier paths again (wrong), or
    (b) passes on each path's share separately (right, but one visit per path)."""

    def pass_running_total(node, grad):
        node.grad += grad
        for parent, local in zip(node._parents, node._local):
            pass_running_total(parent, local * node.grad)

    a = Value(3.0)
    b = a * 2.0  # db/da = 2
    c = b + b  # dc/db = 2, so dc/da = 4
    pass_running_total(c, 1.0)
    # By hand: c's first edge gives b.grad = 1 and a += 2 * 1; the second edge makes
    # b.grad = 2 and sends a += 2 * 2 (the first path again, plus the second): a.grad = 6.
    assert a.grad == 6.0
    a2 = Value(3.0)
    b2 = a2 * 2.0
    (b2 + b2).backward()  # the sorted walk
    assert a2.grad == 4.0

    visits = []

    def per_path(node, grad):
        visits.append(node)
        node.grad += grad
        for parent, local in zip(node._parents, node._local):
            per_path(parent, local * grad)

    x = Value(1.0)
    y = x
    for _ in range(12):
        y = y + y  # each level uses the one below twice
    per_path(y, 1.0)
    assert x.grad == 2.0**12  # right...
    assert len(visits) == 2**13 - 1  # ...after 8191 visits; the sorted walk makes 13
    assert len(topological_order(y)) == 13
