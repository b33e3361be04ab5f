"""The paper's Audio Spectrogram Transformer: transformers' AST, 2 hidden layers, 12 heads, random init."""

from __future__ import annotations

import torch
from torch import nn


class PaperAST(nn.Module):
    """Clip classifier (batch, frames, mels) -> logits (batch, labels) over transformers' AST."""

    kind = "clip"

    def __init__(
        self, n_labels: int = 8, n_frames: int = 198, n_mels: int = 128, layers: int = 2, heads: int = 12,
        hidden: int = 768,
    ) -> None:
        super().__init__()
        # Imported here: transformers takes seconds to import and only this model needs it.
        from transformers import ASTConfig, ASTForAudioClassification

        config = ASTConfig(
            num_hidden_layers=layers, num_attention_heads=heads, hidden_size=hidden,
            intermediate_size=4 * hidden, max_length=n_frames, num_mel_bins=n_mels, num_labels=n_labels,
        )
        self.ast = ASTForAudioClassification(config)
        self.n_frames, self.n_mels = n_frames, n_mels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ast(input_values=x).logits
