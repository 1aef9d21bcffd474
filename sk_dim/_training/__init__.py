"""The training loop: the skorch engine, callbacks, batches, devices, processes."""
