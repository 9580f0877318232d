"""One graph walk shared by both engines: an iterative, deterministic topological order.

Every node (``Value`` or ``Tensor``) keeps its inputs in a tuple ``_parents``.
Reverse-mode autodiff needs each node's gradient to be complete before the
node passes it on, so backward visits nodes in *reverse* topological order:
a node comes after everything it was computed from.

micrograd sorts recursively and hits Python's recursion limit (about 1,000
frames) on a long chain; this walk keeps its own stack, so a 100,000-node
chain is fine. Nodes are keyed by ``id()`` (they define ``__eq__`` as an op,
so they cannot go in a set by value), and parents are visited in the order
they were given, which makes the order the same on every run.
"""

__all__ = ["topological_order"]


def topological_order(root):
    """Return the nodes ``root`` depends on, each after all of its parents, ending with ``root``."""
    order = []
    visited = {id(root)}
    # Each stack entry is (node, iterator over its parents): a hand-made call stack.
    stack = [(root, iter(root._parents))]
    # Bound methods looked up once: this loop runs once per edge of the graph.
    emit, mark, push, pop = order.append, visited.add, stack.append, stack.pop
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            key = id(parent)
            if key in visited:
                continue
            mark(key)
            if parent._parents:
                push((parent, iter(parent._parents)))
                break
            emit(parent)  # a leaf: nothing to visit first, so skip the stack round trip
        else:
            pop()
            emit(node)
    return order
