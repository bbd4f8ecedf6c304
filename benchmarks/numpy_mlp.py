"""The hand-written NumPy peer: MLP forward, backward and SGD, and the closed-form Jacobians."""

from __future__ import annotations

import numpy as np


class NumpyMLP:
    """tanh MLP with the backward pass written out by hand (no autodiff)."""

    def __init__(self, params: list[np.ndarray], lr: float = 0.01):
        self.params = [p.copy() for p in params]
        self.lr = lr

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Hidden activations [x, h1, h2, ...] and the logits."""
        hs = [x]
        n = len(self.params) // 2
        for layer in range(n):
            w, b = self.params[2 * layer], self.params[2 * layer + 1]
            z = hs[-1] @ w.T
            z += b
            if layer == n - 1:
                return hs, z
            hs.append(np.tanh(z, out=z))
        raise AssertionError("unreachable")

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One SGD step on the mean cross-entropy; returns the loss before the update."""
        hs, logits = self.forward(x)
        n = x.shape[0]
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        g = p                                 # dL/dlogits = (softmax − onehot) / N
        g[rows, y] -= 1
        g /= n
        grads = []
        for layer in range(len(self.params) // 2 - 1, -1, -1):
            h = hs[layer]
            grads.append((layer, g.T @ h, g.sum(axis=0)))
            if layer:
                g = g @ self.params[2 * layer]
                g *= 1 - h * h                # tanh' = 1 − tanh²
        for layer, gw, gb in grads:
            self.params[2 * layer] -= self.lr * gw
            self.params[2 * layer + 1] -= self.lr * gb
        return float(loss)

    def softmax_jacobian(self, x: np.ndarray) -> np.ndarray:
        """d softmax(MLP(x)) / dx for one sample: (diag s − s sᵀ) W3 diag(1−h2²) W2 ... W1."""
        hs, logits = self.forward(x)
        s = np.exp(logits - logits.max())
        s /= s.sum()
        a = np.diag(s) - np.outer(s, s)
        for layer in range(len(self.params) // 2 - 1, -1, -1):
            a = a @ self.params[2 * layer]
            if layer:
                h = hs[layer]
                a *= 1 - h * h
        return a

    def input_grads(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample ∇x L_i for a batch: row i is the gradient of sample i's cross-entropy."""
        hs, logits = self.forward(x)
        g = np.exp(logits - logits.max(axis=1, keepdims=True))
        g /= g.sum(axis=1, keepdims=True)
        g[np.arange(x.shape[0]), y] -= 1
        for layer in range(len(self.params) // 2 - 1, -1, -1):
            g = g @ self.params[2 * layer]
            if layer:
                h = hs[layer]
                g *= 1 - h * h
        return g
