"""The training engine: one skorch net that trains any model of the protocol.

:class:`~sk_dim._training.engine.TrainingNet` trains an
:class:`~sk_dim.nn.models.InfoMaxModel` on tensor batches
(:mod:`~sk_dim._training.batches`), one step at a time
(:mod:`~sk_dim._training.step`: autocast, compilation, data parallelism),
with the callbacks of a fit (:mod:`~sk_dim._training.callbacks` and
:mod:`~sk_dim._training.configuration`), on the devices and processes of
:mod:`~sk_dim._training.devices` and :mod:`~sk_dim._training.distributed`.
:mod:`~sk_dim._training.state` copies and restores what training changes.
The engine knows nothing of a model beyond its protocol, and nothing of the
estimators or of the input code: data flows to it, never back.
"""
