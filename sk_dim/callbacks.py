"""skorch callbacks that know the networks of sk_dim's models."""

from __future__ import annotations

from skorch import callbacks

from ._training.state import fitted_optimizers

__all__ = ["Checkpoint"]

#: The parts that skorch's Checkpoint saves under arguments of its own.
_SKORCH_PARTS = ("module", "criterion", "optimizer")


class Checkpoint(callbacks.Checkpoint):
    """skorch's ``Checkpoint``, saving every optimiser of the model.

    skorch's :class:`~skorch.callbacks.Checkpoint` saves ``module_`` (the
    whole model: encoder, critics, and Deep InfoMax's prior discriminator)
    to ``f_params``, ``optimizer_`` and the history. The models of sk_dim
    may have more to save: the optimiser of an adversary (Deep InfoMax's
    discriminator, ``gamma > 0``) and float16's gradient scaler. This
    checkpoint saves each to ``"<name>.pt"`` in ``dirname``
    (``optimizer_adversary.pt``, ``grad_scaler.pt``), unless an
    ``f_<name>`` argument names another file or None. With skorch's
    :class:`~skorch.callbacks.LoadInitState`, a fit resumes from the whole
    training state: the fit goes on from the restored epoch to
    ``max_epochs``, with the learning-rate schedule where it was.

    The arguments are those of skorch's ``Checkpoint``.

    Parameters
    ----------
    monitor : str, callable or None, default="valid_loss_best"
        When to save: after the epochs whose history holds True under this
        key, or for which this function of the net is True, or after every
        epoch (None). ``"valid_loss_best"`` marks the best held-out bound
        and needs held-out data (``early_stopping=True``);
        ``"train_loss_best"`` watches the training loss, and None is what
        resuming a long fit after a crash wants.
    f_params, f_optimizer, f_criterion : str, file-like or None
        Files of ``module_`` (the model), ``optimizer_`` and ``criterion_``
        (stateless: the model holds its objective); None saves none.
        Strings may hold format fields such as
        ``"params_{last_epoch[epoch]}.pt"``.
    f_history : str or None, default="history.json"
        File of the training history, as JSON.
    f_pickle : str, file-like or None, default=None
        File to pickle the whole net to.
    fn_prefix : str, default=""
        Prefix of every file name.
    dirname : str, default=""
        Folder of the files, created if missing.
    event_name : str or None, default="event_cp"
        History key recording whether each epoch was saved.
    sink : callable, default=skorch.utils.noop
        Receives a message at each save.
    load_best : bool, default=False
        Load the last saved state when training ends.
    use_safetensors : bool, default=False
        Save the networks with safetensors. Optimiser states cannot be:
        skorch asks for ``f_optimizer=None``, and the further optimisers
        are not saved.
    **kwargs
        ``f_<name>``: the file of the net's network or optimiser
        ``<name>_``, in place of ``"<name>.pt"``; None saves none.

    See Also
    --------
    skorch.callbacks.LoadInitState : Resume a fit from a checkpoint.

    Examples
    --------
    >>> from skorch.callbacks import LoadInitState
    >>> from sk_dim import DeepInfoMaxTransformer
    >>> from sk_dim.callbacks import Checkpoint
    >>> checkpoint = Checkpoint(dirname="dim_run", monitor=None)
    >>> dim = DeepInfoMaxTransformer(
    ...     gamma=0.1, callbacks=[checkpoint, LoadInitState(checkpoint)]
    ... )  # doctest: +SKIP

    Run ``dim.fit(X)`` again after an interruption, and it trains the
    epochs that were left.
    """

    def save_model(self, net):
        self._name_further_parts(net)
        super().save_model(net)

    def get_formatted_files(self, net):
        self._name_further_parts(net)
        return super().get_formatted_files(net)

    def _name_further_parts(self, net) -> None:
        """An ``f_<name>`` file for each optimiser that skorch would not
        save, unless one was given."""
        parts = [] if self.use_safetensors else list(fitted_optimizers(net))
        for name in (part.removesuffix("_") for part in parts):
            if name not in _SKORCH_PARTS and not hasattr(self, f"f_{name}"):
                setattr(self, f"f_{name}", f"{name}.pt")
