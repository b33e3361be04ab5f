"""Fitting a new linear head on frozen window embeddings, with the old head as the prior (no Qt, no I/O).

What is known (an editor's checked spans, a new lane's examples) is fitted with balanced weights per
label, so one long correction does not outweigh a short one. What is not known keeps the old answer: a
label the head already had is pulled towards its old scores there (soft pseudo-labels) and its weights
towards the old ones; a new label takes the unlabelled windows as negatives (together weighing as much as
its examples), the way a few examples are searched for in the rest of a take; it may also read band
features beside the embedding (``bands_from``), which the shipped labels never do. A label the old head got
right where the editor looked, or one the editor left as it was shown (``keep``), was not corrected and
keeps its row exactly. A handful of corrections therefore moves the corrected lanes without retraining the
others away from what the shipped model learnt on far more data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class HeadFit:
    """How strongly each part of the loss counts; the defaults were chosen with benchmarks/adaptation.py."""

    keep: float = 3.0  # the old scores on windows nobody checked, per old label the review only says is absent
    keep_taught: float = 0.1  # the same for an old label the review shows playing (it is being taught)
    # ... except where the old head was sure (a score within ``sure`` of 0 or 1) and the checked windows do
    # not show it wrong while that sure (at most ``sure_wrong`` of the label's checked positives, or
    # negatives, scored that surely the other way): there a taught label keeps its old scores as firmly as
    # an untaught one. One corrected piano solo otherwise lit the piano lane over other solos.
    sure: float = 0.05
    sure_wrong: float = 0.25
    prior: float = 1e-3  # L2 pull of an old label's (standardised) weights towards the old head
    new_prior: float = 1e-2  # L2 pull of a new label's weights towards zero
    new_prior_bands: float = 0.3  # the same for a new label that also reads the band features (5x the inputs)
    negatives: float = 1.0  # unchecked windows as negatives of a new label (all of them weigh as its examples)
    agree: float = 0.02  # an old label right on all but this share of its checked windows keeps its row
    steps: int = 200
    lr: float = 0.02


def fit_head(
    x: np.ndarray, targets: np.ndarray, known: np.ndarray, weight: np.ndarray, bias: np.ndarray,
    fit: HeadFit | None = None, progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None, bands_from: int | None = None,
    banded: np.ndarray | None = None, keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """New (weight, bias) for labels x -> logits.

    ``x`` (windows, width) embeddings; ``targets`` and ``known`` (windows, labels): the truth in [0, 1]
    where known; ``weight`` (old labels, width) and ``bias`` (old labels,) the old head, whose labels come
    first (the rest are new). When ``x``'s features from column ``bands_from`` on are band features, only
    the labels ``banded`` says (bool per label) read them; the others' weights there stay 0. The old
    labels ``keep`` says (bool per old label) keep their rows exactly. Raises InterruptedError when
    ``should_cancel`` answers True."""
    fit = fit or HeadFit()
    threads = torch.get_num_threads()
    # Tensors this small gain nothing from OpenMP, and on a busy two-core laptop its threads wait on each
    # other: one thread is ten to twenty times faster there.
    torch.set_num_threads(1)
    try:
        # Gradients whatever the thread's last job left set (an analysis runs in inference mode).
        with torch.inference_mode(False), torch.enable_grad():
            return _fit(x, targets, known, weight, bias, fit, progress, should_cancel, bands_from, banded, keep)
    finally:
        torch.set_num_threads(threads)


def fit_member_heads(
    x: np.ndarray, targets: np.ndarray, known: np.ndarray, weight: np.ndarray, bias: np.ndarray,
    widths: Sequence[int], fit: HeadFit | None = None, progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None, keep: np.ndarray | None = None,
    band_widths: Sequence[int] | None = None, banded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`fit_head` for the joined head of several networks (`ActivityEnsemble`): ``x``'s columns are the
    members' embeddings side by side, ``widths`` wide each, then (with ``band_widths``) the members' band
    features side by side, which only the labels ``banded`` says read; the head is the members' mean. Each
    member's part is fitted on its own, as the head of that network alone (its columns of ``weight`` times
    the number of members, the joint ``bias``), and the parts are joined again. Fitted as one head over all
    the columns, three times the inputs of the network `HeadFit` was tuned on, three corrected solos gained
    +0.063 on benchmarks/adaptation.py's takes and new lanes reached 0.435; member by member +0.098 and
    0.616 (embedding alone), 0.653 with each member's band features."""
    n = len(widths)
    bands = list(band_widths) if band_widths is not None else [0] * n
    if len(bands) != n or sum(widths) + sum(bands) != x.shape[1] or weight.shape[1] != x.shape[1]:
        raise ValueError(f"members {list(widths)} (bands {bands}) do not add up to {x.shape[1]} features")
    w_out = np.zeros((targets.shape[1], x.shape[1]), np.float32)  # old and new labels
    biases, e_start, b_start = [], 0, sum(widths)
    for k, (width, band) in enumerate(zip(widths, bands, strict=True)):
        columns = np.r_[e_start:e_start + width, b_start:b_start + band]
        step = None if progress is None else (lambda f, k=k: progress((k + f) / n))
        w, b = fit_head(x[:, columns], targets, known, weight[:, columns] * n, bias, fit, step, should_cancel,
                        bands_from=width if band else None, banded=banded if band else None, keep=keep)
        w_out[:, columns] = w / n
        biases.append(b)
        e_start, b_start = e_start + width, b_start + band
    return w_out, np.mean(biases, axis=0).astype(np.float32)


def _fit(x: np.ndarray, targets: np.ndarray, known: np.ndarray, weight: np.ndarray, bias: np.ndarray, fit: HeadFit,
         progress: Callable[[float], None] | None, should_cancel: Callable[[], bool] | None,
         bands_from: int | None = None, banded: np.ndarray | None = None, keep: np.ndarray | None = None,
         ) -> tuple[np.ndarray, np.ndarray]:
    n_old, n_labels = len(weight), targets.shape[1]
    xs = torch.as_tensor(np.asarray(x, np.float32))
    # Standardised inputs: one learning rate and one prior strength suit every embedding dimension.
    # Population spread (correction 0): a review of one window has a spread of 0, not NaN, and the clamp holds it.
    mean, std = xs.mean(0), xs.std(0, correction=0).clamp_min(1e-3)
    z = (xs - mean) / std
    w_old = torch.as_tensor(weight, dtype=torch.float32) * std
    b_old = torch.as_tensor(bias, dtype=torch.float32) + torch.as_tensor(weight, dtype=torch.float32) @ mean
    # Which inputs each label reads: all of them, except band features for a label not ``banded``.
    reads = torch.ones(n_labels, z.shape[1])
    uses_bands = torch.zeros(n_labels, dtype=torch.bool)
    if bands_from is not None:
        uses_bands = torch.as_tensor(np.asarray(banded, bool)) if banded is not None else uses_bands
        reads[~uses_bands, bands_from:] = 0.0
    # Band features multiply a new label's inputs fivefold; three examples need a firmer pull to zero.
    new_prior = torch.where(uses_bands[n_old:], fit.new_prior_bands, fit.new_prior)[:, None]
    w = torch.zeros(n_labels, z.shape[1])
    b = torch.zeros(n_labels)
    w[:n_old], b[:n_old] = w_old, b_old
    t = torch.as_tensor(targets, dtype=torch.float32)
    k = torch.as_tensor(known, dtype=torch.bool)
    if n_labels > n_old:  # a new label starts at its share of the known windows
        share = ((t * k).sum(0) / k.sum(0).clamp_min(1))[n_old:].clamp(0.01, 0.5)
        b[n_old:] = torch.log(share / (1 - share))
    pw, nw = _balanced(t, k)
    soft = torch.sigmoid(z @ w_old.T + b_old)  # the old head's scores
    unknown = (~k).float()
    taught = ((t * k).sum(0) > 0)[:n_old]
    trusted = _trusted(soft, t[:, :n_old], k[:, :n_old], fit.sure, fit.sure_wrong)
    free_old = unknown[:, :n_old] / unknown.shape[0] * torch.where(taught & ~trusted, fit.keep_taught, fit.keep)
    free_new = unknown[:, n_old:] / unknown.shape[0]
    # A lane the old head already got right where the editor looked was not corrected: its row stays
    # exactly as it was, so a few corrections elsewhere cannot move it (they did, by up to 0.08 F1). Each
    # label's loss below involves its own row only, so only the other rows are fitted, with the same result.
    frozen = _agreeing(soft, t[:, :n_old], k[:, :n_old], fit.agree)
    if keep is not None:
        frozen |= torch.as_tensor(np.asarray(keep, bool))
    fitted = torch.cat([(~frozen).nonzero().flatten(), torch.arange(n_old, n_labels)])
    n_fit_old = int((~frozen).sum())
    wf, bf = w[fitted].clone().requires_grad_(True), b[fitted].clone().requires_grad_(True)
    tf, weights, rf = t[:, fitted], (t * pw + (1 - t) * nw)[:, fitted], reads[fitted]
    soft_f, free_f, w_old_f = soft[:, ~frozen], free_old[:, ~frozen], w_old[~frozen]
    opt = Adam([wf, bf], lr=fit.lr)
    for step in range(fit.steps if len(fitted) else 0):
        if should_cancel is not None and should_cancel():
            raise InterruptedError("adaptation cancelled")
        opt.zero_grad()
        logits = z @ (wf * rf).T + bf
        loss = (F.binary_cross_entropy_with_logits(logits, tf, reduction="none") * weights).sum()
        loss = loss + (F.binary_cross_entropy_with_logits(
            logits[:, :n_fit_old], soft_f, reduction="none") * free_f).sum()
        if n_labels > n_old:
            loss = loss + fit.negatives * (F.softplus(logits[:, n_fit_old:]) * free_new).sum()
            loss = loss + (new_prior * (wf[n_fit_old:] * rf[n_fit_old:]) ** 2).sum()
        loss = loss + fit.prior * ((wf[:n_fit_old] - w_old_f) ** 2).sum()
        loss.backward()
        opt.step()
        if progress is not None and step % 25 == 0:
            progress(step / fit.steps)
    with torch.no_grad():
        w[fitted], b[fitted] = wf, bf
        w_raw = w * reads / std
        b_raw = b - w_raw @ mean
    return w_raw.numpy().astype(np.float32), b_raw.numpy().astype(np.float32)


class Adam:
    """Adam (Kingma & Ba) for a few tensors, written out: creating a ``torch.optim`` optimizer the first
    time in a process imports TorchDynamo, about 3 s here, six times the whole fit of a 1 h take."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v, strict=True):
                if p.grad is None:
                    continue
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                step = self.lr / (1 - b1 ** self.t)
                p.addcdiv_(m, (v / (1 - b2 ** self.t)).sqrt_().add_(self.eps), value=-step)


def _trusted(scores: torch.Tensor, t: torch.Tensor, k: torch.Tensor, sure: float, wrong: float) -> torch.Tensor:
    """Per window and label: the old score is sure (within ``sure`` of 0 or 1), and on the checked windows
    that label was rarely wrong while that sure the same way (at most a ``wrong`` share of its checked
    positives scored surely absent, or of its checked negatives surely present). Where a family is new to
    the model, its misses are sure too, and then its sure scores deserve no trust."""
    pos, neg = (t >= 0.5) & k, (t < 0.5) & k
    low, high = scores < sure, scores > 1.0 - sure
    missed = (low & pos).sum(0) / pos.sum(0).clamp_min(1)
    false = (high & neg).sum(0) / neg.sum(0).clamp_min(1)
    return (low & (missed <= wrong)) | (high & (false <= wrong))


def _agreeing(scores: torch.Tensor, t: torch.Tensor, k: torch.Tensor, share: float) -> torch.Tensor:
    """Per label: whether the scores (thresholded at 0.5) disagree with the truth on at most ``share`` of
    the label's checked windows (a label with none checked counts as agreeing)."""
    wrong = ((scores >= 0.5) != (t >= 0.5)) & k
    return wrong.sum(0) <= share * k.sum(0)


def _balanced(t: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-window weights of the known windows' positive and negative parts: each label's positives and
    its negatives weigh half each (all of it when it has only one kind)."""
    kf = k.float()
    pos = (t * kf).sum(0)
    neg = ((1 - t) * kf).sum(0)
    has_both = (pos > 0) & (neg > 0)
    pw = torch.where(has_both, 0.5, 1.0) / pos.clamp_min(1e-6) * (pos > 0)
    nw = torch.where(has_both, 0.5, 1.0) / neg.clamp_min(1e-6) * (neg > 0)
    return pw * kf, nw * kf
