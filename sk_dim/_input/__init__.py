"""The input of the estimators: from what the user passes to validated tensors.

:class:`~sk_dim._input.estimator_input.EstimatorInput` validates arrays,
out-of-core stores and DataLoaders as an estimator receives them;
:mod:`~sk_dim._input.layout` infers the layout of the data (rows or images,
and the channel axis), :mod:`~sk_dim._input.checks` checks parameters and
samples, :mod:`~sk_dim._input.scaling` learns the input scaling,
:mod:`~sk_dim._input.streaming` reads out-of-core data chunk by chunk, and
:mod:`~sk_dim._input.prepare` turns validated data into the model's tensors,
which the engine then batches.
"""
