"""Training: data sources, synthesis, augmentation, training loop, reports."""
