"""A deliberately plain scalar autodiff engine, the baseline bpkit.Value is measured against.

It is written the way most first engines are (and micrograd's is): every op
creates a node holding a *set* of its children and a fresh closure that
pushes gradients back; backward sorts the graph with a *recursive*
depth-first search. Nothing here is used by bpkit itself.
"""

import math
import sys

RAISE_RECURSION_LIMIT = True


class RefValue:
    def __init__(self, data, children=(), op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(children)
        self._op = op

    def __add__(self, other):
        other = other if isinstance(other, RefValue) else RefValue(other)
        out = RefValue(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, RefValue) else RefValue(other)
        out = RefValue(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, p):
        out = RefValue(self.data**p, (self,), f"**{p}")

        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = RefValue(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = RefValue(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)

        # A deep graph needs a deep Python stack: the classic engine's limitation,
        # worked around the classic way (run.py measures whether it is needed).
        if RAISE_RECURSION_LIMIT:
            sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
