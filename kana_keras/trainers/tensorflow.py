"""TensorFlow: record the forward pass on a GradientTape, then apply the gradients."""

from __future__ import annotations

import tensorflow as tf


class VAETrainer:
    """train_step/test_step mixin; the model supplies unpack_batch, model_inputs, vae_losses."""

    def train_step(self, data):
        images, labels = self.unpack_batch(data)
        with tf.GradientTape() as tape:
            outputs = self(self.model_inputs(images, labels), training=True)
            losses = self.vae_losses(images, outputs)
            # Under MirroredStrategy each replica's gradient is summed, so scale like Keras does.
            scaled = losses["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(losses)

    def test_step(self, data):
        images, labels = self.unpack_batch(data)
        outputs = self(self.model_inputs(images, labels), training=False)
        return self.update_trackers(self.vae_losses(images, outputs))
