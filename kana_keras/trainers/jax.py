"""JAX: a pure function of the variables, differentiated with value_and_grad; new state out."""

from __future__ import annotations

import jax


class VAETrainer:
    """train_step/test_step mixin; the model supplies unpack_batch, model_inputs, vae_losses."""

    def vae_loss_and_updates(self, trainable_variables, non_trainable_variables, images,
                             labels, training=False):
        """Stateless forward + loss: returns (loss, (all losses, new non-trainable state))."""
        outputs, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables,
            self.model_inputs(images, labels), training=training,
        )
        losses = self.vae_losses(images, outputs)
        return losses["loss"], (losses, non_trainable_variables)

    def stateless_update_trackers(self, metrics_variables, losses):
        """Mean trackers updated without side effects, as jit requires."""
        logs, new_variables = {}, []
        for tracker in self.metrics:
            start = len(new_variables)
            variables = metrics_variables[start:start + len(tracker.variables)]
            variables = tracker.stateless_update_state(variables, losses[tracker.name])
            logs[tracker.name] = tracker.stateless_result(variables)
            new_variables.extend(variables)
        return logs, new_variables

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        images, labels = self.unpack_batch(data)
        grad_fn = jax.value_and_grad(self.vae_loss_and_updates, has_aux=True)
        (_, (losses, non_trainable_variables)), gradients = grad_fn(
            trainable_variables, non_trainable_variables, images, labels, True
        )
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, gradients, trainable_variables
        )
        logs, metrics_variables = self.stateless_update_trackers(metrics_variables, losses)
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                      metrics_variables)

    def test_step(self, state, data):
        trainable_variables, non_trainable_variables, metrics_variables = state
        images, labels = self.unpack_batch(data)
        _, (losses, non_trainable_variables) = self.vae_loss_and_updates(
            trainable_variables, non_trainable_variables, images, labels, False
        )
        logs, metrics_variables = self.stateless_update_trackers(metrics_variables, losses)
        return logs, (trainable_variables, non_trainable_variables, metrics_variables)
