"""The adversarial game of MUSE, in numpy: a feed-forward discriminator and its gradients.

Conneau, Lample, Ranzato, Denoyer, Jégou (ICLR 2018), "Word translation without
parallel data", §2.1. A discriminator D tells mapped source vectors ``W x`` from
target vectors ``y``; the mapping W is trained to fool it.

Discriminator (the reference architecture, ``layers`` = 2 hidden layers):

    x ─ dropout(p_in) ─ Linear(d, h) ─ LeakyReLU(α) ─ Linear(h, h) ─ LeakyReLU(α) ─ Linear(h, 1) ─ σ

Loss: binary cross-entropy on smoothed labels (mapped source 1 − s, target s), written
on the logit z for stability:  ℓ(z, y) = softplus(z) − y·z = −[y log σ(z) + (1−y) log(1−σ(z))],
∂ℓ/∂z = σ(z) − y. The mean is over the 2·batch samples, as in the reference.

Mapping gradient: with mapped rows M = X Wᵀ and G = ∂L/∂M (the discriminator's input
gradient on the source rows, labels flipped, dropout off), ∂L/∂W = Gᵀ X.

Orthogonalization after each mapping step (Cisse et al. 2017, as in MUSE):
W ← (1 + β) W − β (W Wᵀ) W.

Everything is float32 (``dtype`` = float64 serves the gradient check); parameters are stored as (fan_in, fan_out) so a layer is
``a @ W + b``. Initialization follows ``torch.nn.Linear``: weights and biases uniform in
±1/√fan_in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + eˢ), computed stably."""
    return np.logaddexp(z.dtype.type(0), z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), computed without overflow (scipy's ``expit``)."""
    return expit(z)


def bce_with_logits(z: np.ndarray, y: np.ndarray, denom: float | None = None) -> tuple[float, np.ndarray]:
    """Σ (softplus(z) − y z) / denom and its gradient (σ(z) − y) / denom (denom defaults to len(z))."""
    denom = float(len(z)) if denom is None else float(denom)
    loss = float(np.sum(softplus(z) - y * z, dtype=np.float64) / denom)
    return loss, ((sigmoid(z) - y) / denom).astype(z.dtype, copy=False)


@dataclass
class _Cache:
    x0: np.ndarray                  # input after dropout
    pre: list[np.ndarray]           # pre-activations of the hidden layers
    act: list[np.ndarray]           # activations of the hidden layers
    mask: np.ndarray | None         # dropout mask (already scaled by 1/(1−p)) or None


class Discriminator:
    """MUSE's discriminator with hand-written forward and backward passes.

    ``params`` is a list ``[W1, b1, W2, b2, …, W_out, b_out]`` (float32; Wi is fan_in × fan_out).
    """

    def __init__(self, dim: int, hidden: int = 2048, layers: int = 2, input_dropout: float = 0.1,
                 leaky: float = 0.2, rng: np.random.Generator | None = None, dtype=np.float32):
        rng = np.random.default_rng(0) if rng is None else rng
        self.dim, self.hidden, self.layers = int(dim), int(hidden), int(layers)
        self.input_dropout = float(input_dropout)
        self.dtype = np.dtype(dtype)
        self.leaky = self.dtype.type(leaky)
        sizes = [self.dim] + [self.hidden] * self.layers + [1]
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            self.params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(self.dtype))
            self.params.append(rng.uniform(-bound, bound, (fan_out,)).astype(self.dtype))

    # ------------------------------------------------------------------ passes
    def forward(self, x: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, _Cache]:
        """Logits z (n,) of the batch ``x`` (n × d). Dropout on the input iff ``rng`` is given
        (training mode); without it the pass is deterministic (evaluation mode)."""
        x = np.asarray(x, self.dtype)
        mask = None
        if rng is not None and self.input_dropout > 0:
            keep = 1.0 - self.input_dropout
            mask = (rng.random(x.shape, dtype=np.float32) < keep).astype(self.dtype) * self.dtype.type(1.0 / keep)
            x = x * mask
        pre, act = [], []
        a = x
        for i in range(self.layers):
            h = a @ self.params[2 * i]
            h += self.params[2 * i + 1]
            pre.append(h)
            a = np.where(h > 0, h, h * self.leaky)
            act.append(a)
        z = (a @ self.params[-2])[:, 0] + self.params[-1][0]
        return z, _Cache(x, pre, act, mask)

    def backward(self, cache: _Cache, dz: np.ndarray, need_params: bool = True,
                 need_input: bool = False) -> tuple[list[np.ndarray] | None, np.ndarray | None]:
        """Gradients of a loss L given dz = ∂L/∂z: (∂L/∂params, ∂L/∂x), each on request.
        ∂L/∂x is with respect to the input before dropout (mask applied)."""
        dz = np.asarray(dz, self.dtype)[:, None]
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        a_last = cache.act[-1]
        if need_params:
            grads[-2] = a_last.T @ dz
            grads[-1] = dz.sum(axis=0)
        da = dz @ self.params[-2].T                                   # n × h
        for i in range(self.layers - 1, -1, -1):
            dh = np.where(cache.pre[i] > 0, da, da * self.leaky)
            a_in = cache.act[i - 1] if i > 0 else cache.x0
            if need_params:
                grads[2 * i] = a_in.T @ dh
                grads[2 * i + 1] = dh.sum(axis=0)
            if i > 0 or need_input:
                da = dh @ self.params[2 * i].T
        dx = None
        if need_input:
            dx = da if cache.mask is None else da * cache.mask
        return (grads if need_params else None), dx

    def predict(self, x: np.ndarray) -> np.ndarray:
        """σ(z): the probability that each row is a mapped source vector (evaluation mode)."""
        z, _ = self.forward(x)
        return sigmoid(z)

    def sgd_step(self, grads: list[np.ndarray], lr: float) -> None:
        lr = self.dtype.type(lr)
        for p, g in zip(self.params, grads):
            p -= lr * g


def orthogonalize(w: np.ndarray, beta: float) -> np.ndarray:
    """One step towards the orthogonal manifold: (1 + β) W − β (W Wᵀ) W (Cisse et al. 2017)."""
    w = np.asarray(w, np.float32)
    return ((1.0 + beta) * w - beta * ((w @ w.T) @ w)).astype(np.float32)


def discriminator_step(disc: Discriminator, mapped_src: np.ndarray, tgt: np.ndarray, smooth: float,
                       lr: float, rng: np.random.Generator) -> tuple[float, float]:
    """One SGD step of the discriminator on a batch (training mode: input dropout on).

    Labels: mapped source 1 − s, target s. Returns (loss, accuracy at 0.5) of the batch.

    The same computation as ``forward(x, rng)`` → ``bce_with_logits`` → ``backward`` →
    ``sgd_step`` (same dropout mask from the same random stream; a test checks the two
    agree), fused into one pass with fewer temporaries: the small preset runs it 100,000
    times, and at small widths numpy's per-call overhead, not the flops, is the cost.
    """
    dt = disc.dtype
    n_s = len(mapped_src)
    x = np.concatenate([mapped_src, tgt]).astype(dt, copy=False)
    n = len(x)
    if disc.input_dropout > 0:
        keep = 1.0 - disc.input_dropout
        x = x * (rng.random(x.shape, dtype=np.float32) < keep)
        x *= dt.type(1.0 / keep)
    alpha, one = disc.leaky, dt.type(1.0)
    params = disc.params
    acts, slopes = [x], []
    a = x
    for i in range(disc.layers):
        h = a @ params[2 * i]
        h += params[2 * i + 1]
        slope = np.where(h > 0, one, alpha)
        a = np.multiply(h, slope, out=h)
        slopes.append(slope)
        acts.append(a)
    w_out = params[-2][:, 0]
    z = a @ w_out + params[-1][0]
    y = np.empty(n, dt)
    y[:n_s], y[n_s:] = 1.0 - smooth, smooth
    loss, dz = bce_with_logits(z, y)
    acc = float(np.mean((z > 0) == (y > 0.5)))
    lr_ = dt.type(lr)
    # backward, updating each layer once its input gradient has been taken
    da = dz[:, None] * w_out
    params[-2] -= lr_ * (a.T @ dz)[:, None]
    params[-1] -= lr_ * dz.sum()
    for i in range(disc.layers - 1, -1, -1):
        dh = da * slopes[i]
        if i > 0:
            da = dh @ params[2 * i].T
        g = acts[i].T @ dh
        g *= lr_
        params[2 * i] -= g
        params[2 * i + 1] -= lr_ * dh.sum(axis=0)
    return loss, acc


def mapping_gradient(disc: Discriminator, x_src: np.ndarray, w: np.ndarray, smooth: float,
                     n_total: int) -> tuple[float, np.ndarray]:
    """∂L/∂W of the mapping loss (flipped labels: mapped source labelled s), discriminator
    in evaluation mode. Only the source rows depend on W, so only they are passed through;
    ``n_total`` (= 2·batch in the reference) is the BCE mean's denominator, which keeps
    the gradient identical to the reference's. Returns (the source rows' loss share, ∂L/∂W)."""
    mapped = x_src @ w.T
    z, cache = disc.forward(mapped)
    y = np.full(len(z), smooth, disc.dtype)
    loss, dz = bce_with_logits(z, y, denom=n_total)
    _, g = disc.backward(cache, dz, need_params=False, need_input=True)
    return loss, (g.T @ x_src).astype(disc.dtype, copy=False)
