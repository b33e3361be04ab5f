"""Several ActivityCNN networks read side by side, with one linear head over their joined frame embeddings.

The mean of the members' logits is such a head: each member's head scaled by 1/n, placed side by side,
and the mean of their biases. So a set of trained networks becomes one model that the analyzer, the
checkpoint code and adapting (which refits the head on the frame embeddings) treat like a single
ActivityCNN; its embedding is the members' embeddings together, and its band features (what a lane taught
from examples reads beside the embedding, `ActivityCNN.embed_parts`) are the members' band features
together, after all the embeddings.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from .activity_cnn import LANE_BANDS, ActivityCNN


class ActivityEnsemble(nn.Module):
    """Log-mel (batch, frames, mels) -> frame logits (batch, frames // time_stride, labels)."""

    kind = "frames"

    def __init__(self, members: Sequence[dict], n_labels: int = 8, head_bands: int = 0) -> None:
        """``members``: each member network's ActivityCNN parameters (its own ``n_labels`` is ignored:
        the members' heads are not kept). ``head_bands`` (0 or `LANE_BANDS`): the head also reads the
        members' band features (a model with a lane taught from examples)."""
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two member networks")
        if head_bands not in (0, LANE_BANDS):
            raise ValueError(f"head_bands is 0 or {LANE_BANDS}, not {head_bands}")
        self.bodies = nn.ModuleList()
        for params in members:
            body = ActivityCNN(**{k: v for k, v in params.items() if k not in ("n_labels", "head_bands")})
            body.head = nn.Identity()  # the ensemble's head reads all bodies at once
            self.bodies.append(body)
        strides = {body.time_stride for body in self.bodies}
        if len(strides) != 1:
            raise ValueError(f"members score frames at different strides {sorted(strides)}")
        self.time_stride = strides.pop()
        self.head_bands = head_bands
        self.head = nn.Conv1d(self.embed_width + self.band_channels * head_bands, n_labels, 1)

    @property
    def embed_width(self) -> int:
        """The members' embedding widths together, without band features."""
        return sum(body.embed_width for body in self.bodies)

    @property
    def band_channels(self) -> int:
        """The members' last-block channels together, each of which gives one feature per frequency band."""
        return sum(body.band_channels for body in self.bodies)

    def embed_parts(self, x: torch.Tensor, bands: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(batch, frames, mels) -> the members' embeddings side by side (batch, summed widths, frames //
        time_stride) and, for ``bands`` > 0, their band features side by side in the same member order
        (each member's as `ActivityCNN.embed_parts` gives them); else None."""
        parts = [body.embed_parts(x, bands) for body in self.bodies]
        e = torch.cat([e for e, _ in parts], dim=1)
        return e, (torch.cat([b for _, b in parts], dim=1) if bands else None)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, frames, mels) -> what the head reads per frame: the members' embeddings, and their band
        features when ``head_bands`` says so."""
        e, b = self.embed_parts(x, self.head_bands)
        return e if b is None else torch.cat([e, b], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x)).transpose(1, 2)

    def for_inference(self) -> ActivityEnsemble:
        """An eval-mode copy whose bodies have their batch norms folded (see `ActivityCNN.for_inference`)."""
        fused = copy.deepcopy(self).eval()
        fused.bodies = nn.ModuleList(body.for_inference() for body in fused.bodies)
        return fused

    def clip_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).mean(dim=1)

    @classmethod
    def from_networks(cls, networks: Sequence[ActivityCNN], member_params: Sequence[dict],
                      logit_biases: Sequence[Sequence[float]] = ()) -> ActivityEnsemble:
        """The ensemble whose logits are the mean of the networks' (each with its logit bias, if given)."""
        n_labels = {net.head.out_channels for net in networks}
        if len(n_labels) != 1:
            raise ValueError("the networks name different numbers of labels")
        ensemble = cls(member_params, n_labels.pop())
        n = len(networks)
        weights, biases = [], []
        for i, (body, net) in enumerate(zip(ensemble.bodies, networks, strict=True)):
            state = {k: v for k, v in net.state_dict().items() if not k.startswith("head.")}
            body.load_state_dict(state)
            weights.append(net.head.weight.detach() / n)
            bias = net.head.bias.detach()
            if i < len(logit_biases) and len(logit_biases[i]):
                bias = bias + torch.tensor(logit_biases[i], dtype=torch.float32)
            biases.append(bias / n)
        with torch.no_grad():
            ensemble.head.weight.copy_(torch.cat(weights, dim=1))
            ensemble.head.bias.copy_(torch.stack(biases).sum(0))
        return ensemble.eval()
