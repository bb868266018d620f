"""PyTorch: backpropagate the loss, then let the Keras optimizer apply the .grad tensors."""

from __future__ import annotations

import torch


class VAETrainer:
    """train_step/test_step mixin; the model supplies unpack_batch, model_inputs, vae_losses."""

    def train_step(self, data):
        images, labels = self.unpack_batch(data)
        self.zero_grad()
        outputs = self(self.model_inputs(images, labels), training=True)
        losses = self.vae_losses(images, outputs)
        losses["loss"].backward()
        weights = self.trainable_weights
        gradients = [w.value.grad for w in weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, weights)
        return self.update_trackers(losses)

    def test_step(self, data):
        images, labels = self.unpack_batch(data)
        outputs = self(self.model_inputs(images, labels), training=False)
        return self.update_trackers(self.vae_losses(images, outputs))
