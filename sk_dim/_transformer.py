"""DeepInfoMaxTransformer: Deep InfoMax as a scikit-learn transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR

from ._batches import TensorBatches, inference_batch_size
from ._data import InputEncoder, as_tensor, fit_standardize, infer_layout
from ._engine import DeepInfoMaxNet, ProgressBar, StepScheduler, adam_kernel
from ._runtime import compute_settings
from .augmentations import AUGMENTATIONS, get_augmentation
from .critics import CRITICS
from .encoders import ConvEncoder, MLPEncoder
from .estimators import MI_ESTIMATORS, get_estimator
from .objectives import DeepInfoMaxObjective
from .prior import PRIORS, PriorDiscriminator


def _resolve_device(device: str | torch.device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto' or a torch device such as 'cpu' or 'cuda:0', "
            f"got {device!r}."
        ) from None


class DeepInfoMaxTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Unsupervised representation learning by Deep InfoMax (Hjelm et al. 2019).

    An encoder maps each input to a local feature map and a global vector Y of
    ``n_components`` values. Training maximises a lower bound on the mutual
    information between Y and the feature map as a whole (global term, weight
    ``alpha``) and between Y and each location of the map (local term, weight
    ``beta``), while an adversarial term (weight ``gamma``) matches Y to a
    prior distribution. ``transform`` returns Y.

    Images (a convolutional encoder sized to the input) and feature rows (an
    MLP encoder) are both accepted.

    Parameters
    ----------
    n_components : int, default=64
        Size of the learned representation Y.
    alpha : float, default=0.0
        Weight of the global mutual-information term.
    beta : float, default=1.0
        Weight of the local mutual-information term. The defaults
        ``(alpha, beta, gamma) = (0, 1, 0.1)`` are the paper's DIM(L).
    gamma : float, default=0.1
        Weight of the prior-matching term; 0 disables it.
    mi_estimator : {"jsd", "infonce", "dv", "nwj", "second_order"}, class or \
            callable, default="jsd"
        Mutual-information estimator: a name, an estimator class such as
        ``DV`` (instantiated without arguments), an instance such as
        ``DV(moving_average=0.01)`` (copied at fit), or a function mapping a
        (B, B, L) score tensor to a scalar bound (see
        :mod:`sk_dim.estimators`).
    critic : {"encode_and_dot", "separable", "bilinear", "dot", "concat"}, \
            class or torch.nn.Module, default="encode_and_dot"
        Critic scoring (global vector, local feature) pairs, built for each
        active term (see :mod:`sk_dim.critics`). A module instance maps
        (B, L, C) and (B, D) features to (B, B, L) scores; it is copied at
        fit and serves a single term (alpha or beta 0).
    prior : {"uniform", "gaussian"}, default="uniform"
        Prior matched by the adversarial term: uniform on ``[0, 1]^d`` for
        ``sigmoid(Y)`` or standard normal for Y.
    encoder : {"auto", "conv", "mlp"}, default="auto"
        "auto" uses the convolutional encoder for images and the MLP for
        feature rows; "mlp" also works on images (flattened).
    image_shape : tuple of int, default=None
        ``(C, H, W)`` or ``(H, W)`` when a 2-D X holds flattened images. Without
        it a 2-D X is treated as feature rows.
    channels : {"auto", "first", "last"}, default="auto"
        Position of the channel axis of a 4-D X. "auto" picks the axis of size
        1, 3 or 4, preferring (N, C, H, W) when both qualify.
    augmentation : {"auto", "crop", "crop_flip"}, callable or None, \
            default="auto"
        Augmentation of the training images. With one, every step encodes two
        augmented views of each image and scores the global vector Y of each
        view against the local features of the other, so that Y must predict
        the content of the image rather than the exact pixels of its view (as
        in Bachman et al. 2019). "crop" takes random crops of images padded by
        an eighth of their side (translations of up to 3 pixels at 28
        pixels); "crop_flip" also mirrors half of them (not for digits or
        text). A callable maps a float tensor batch (B, C, H, W), or (B, F)
        for rows, to a batch of the same shape and must be picklable. "auto"
        is "crop" for images and None for feature rows; None trains on the
        data as given, scoring one view against itself (the original DIM).
    critic_width : int, default=512
        Width of the critics' hidden layers. The critics embed both sides in a
        space of ``n_components`` dimensions.
    lr : float, default=1e-3
        Learning rate of Adam (betas 0.5, 0.999) for all networks.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        "cosine" anneals the learning rate of the encoder and critics to zero
        along a cosine over the steps of the fit; the prior discriminator keeps
        ``lr``. "constant" keeps ``lr`` throughout.
    batch_size : int, default=64
        Samples per training step; the other samples of a batch are the
        negatives of each sample.
    max_epochs : int, default=10
        Passes over the training data.
    device : str or torch.device, default="auto"
        Where to train: "auto" picks CUDA when available, else the CPU.
    compile : bool, default=False
        Compile each training step (forward pass and loss) with
        ``torch.compile``. The first steps then take longer (tens of seconds
        on a CPU) and the following ones may run faster, which pays off for
        long fits on a GPU; on the CPU the gain is small. If compilation
        fails, a warning says why and the fit goes on uncompiled.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, batch order, augmentations and prior
        samples. With an int, fits on the CPU are reproducible. The global
        torch random state is left untouched.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar with the loss.

    Attributes
    ----------
    net_ : DeepInfoMaxNet
        The fitted skorch net; ``net_.module_`` is the encoder.
    device_ : torch.device
        Device the model was fitted on. ``transform`` runs where the net is:
        a model fitted on a GPU and unpickled on a machine without one runs on
        the CPU.
    n_features_in_ : int
        Number of features (for 2-D X) or size of the second axis of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    input_shape_ : tuple of int
        Shape of one sample of the training data.

    See Also
    --------
    sklearn.decomposition.PCA : Linear unsupervised projection.

    Notes
    -----
    ``score`` returns the weighted mutual-information estimate on held-out
    data, so that model selection can maximise it; estimates of different
    ``mi_estimator`` values are on different scales and must not be compared.

    References
    ----------
    R Devon Hjelm, Alex Fedorov, Samuel Lavoie-Marchildon, Karan Grewal, Phil
    Bachman, Adam Trischler and Yoshua Bengio. "Learning deep representations
    by mutual information estimation and maximization". ICLR 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_dim import DeepInfoMaxTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> dim = DeepInfoMaxTransformer(n_components=16, max_epochs=2, random_state=0)
    >>> dim.fit_transform(X).shape
    (1797, 16)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "mi_estimator": [StrOptions(set(MI_ESTIMATORS)), callable],
        "prior": [StrOptions(set(PRIORS))],
        "encoder": [StrOptions({"auto", "conv", "mlp"})],
        "image_shape": [None, tuple, list],
        "channels": [StrOptions({"auto", "first", "last"})],
        "augmentation": [None, StrOptions({"auto", *AUGMENTATIONS}), callable],
        "critic": [StrOptions(set(CRITICS)), type, nn.Module],
        "critic_width": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "compile": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=64,
        *,
        alpha=0.0,
        beta=1.0,
        gamma=0.1,
        mi_estimator="jsd",
        critic="encode_and_dot",
        prior="uniform",
        encoder="auto",
        image_shape=None,
        channels="auto",
        augmentation="auto",
        critic_width=512,
        lr=1e-3,
        lr_schedule="cosine",
        batch_size=64,
        max_epochs=10,
        device="auto",
        compile=False,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.mi_estimator = mi_estimator
        self.critic = critic
        self.prior = prior
        self.encoder = encoder
        self.image_shape = image_shape
        self.channels = channels
        self.augmentation = augmentation
        self.critic_width = critic_width
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.compile = compile
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the encoder on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W), \
                (n_samples, C, H, W) or (n_samples, H, W, C)
            Training data: feature rows, or images (uint8 images are scaled to
            [-1, 1], other images standardised).
        y : None
            Ignored.

        Returns
        -------
        self : DeepInfoMaxTransformer
            The fitted transformer.
        """
        X = self._validate_input(X, reset=True)
        if self.alpha == 0 and self.beta == 0:
            raise ValueError(
                "At least one of alpha (global term) and beta (local term) must "
                "be positive, got alpha=0 and beta=0."
            )
        layout = infer_layout(X, self.image_shape, self.channels)
        if self.batch_size > len(X):
            raise ValueError(
                f"batch_size={self.batch_size} is larger than the number of "
                f"samples ({len(X)}); pass batch_size <= {len(X)}."
            )
        self.device_ = _resolve_device(self.device)
        self.input_shape_ = layout.sample_shape
        self._layout = layout
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        cuda_devices = [self.device_] if self.device_.type == "cuda" else []
        with (
            torch.random.fork_rng(devices=cuda_devices),
            compute_settings(self.device_),
        ):
            torch.manual_seed(seed)
            self.net_ = self._build_net(X, layout, seed)
            self.net_.fit(as_tensor(X, layout))
        self.loss_curve_ = list(self.net_.history[:, "train_loss"])
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _build_net(self, X: np.ndarray, layout, seed: int) -> DeepInfoMaxNet:
        encoder_name = self.encoder
        if encoder_name == "auto":
            encoder_name = "mlp" if layout.image_shape is None else "conv"
        if encoder_name == "conv":
            if layout.image_shape is None:
                raise ValueError(
                    "encoder='conv' needs images: pass 3-D or 4-D X, or 2-D X with "
                    "image_shape=(C, H, W)."
                )
            channels, height, width = layout.image_shape
            encoder = ConvEncoder(channels, (height, width), self.n_components)
        else:
            n_features = int(np.prod(layout.image_shape or layout.sample_shape))
            encoder = MLPEncoder(n_features, self.n_components)
        objective = DeepInfoMaxObjective(
            get_estimator(self.mi_estimator),
            self.critic,
            local_channels=encoder.local_channels,
            local_size=encoder.local_size,
            n_components=self.n_components,
            alpha=self.alpha,
            beta=self.beta,
            embedding_dim=self.n_components,
            critic_hidden=self.critic_width,
        )
        discriminator = (
            PriorDiscriminator(self.n_components) if self.gamma > 0 else None
        )
        module = InputEncoder(
            fit_standardize(X, layout),
            encoder,
            flatten=encoder_name == "mlp",
            channels_last=encoder_name == "conv",
        )
        steps = self.max_epochs * (len(X) // self.batch_size)
        callbacks = []
        if self.lr_schedule == "cosine":
            schedule = StepScheduler(CosineAnnealingLR, T_max=steps)
            callbacks.append(("lr_schedule", schedule))
        if self.verbose:
            callbacks.append(("progress", ProgressBar(steps)))
        return DeepInfoMaxNet(
            module=module,
            criterion=objective,
            discriminator=discriminator,
            prior=self.prior,
            gamma=self.gamma,
            gradient_penalty=1.0,
            augment=self._resolve_augmentation(layout),
            seed=seed,
            compile_step=self.compile,
            optimizer=torch.optim.Adam,
            optimizer__betas=(0.5, 0.999),
            **{
                f"optimizer__{name}": value
                for name, value in adam_kernel(self.device_).items()
            },
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            callbacks=callbacks,
            device=self.device_,
            verbose=0,
        )

    def _resolve_augmentation(self, layout):
        if self.augmentation is None or callable(self.augmentation):
            return self.augmentation
        if layout.image_shape is None:
            if self.augmentation == "auto":
                return None
            raise ValueError(
                f"augmentation={self.augmentation!r} needs images, but X holds "
                f"feature rows; pass image_shape=(C, H, W) if the rows are "
                f"images, or augmentation=None."
            )
        name = "crop" if self.augmentation == "auto" else self.augmentation
        return get_augmentation(name, layout.image_shape[1:])

    def _validate_input(self, X, reset: bool) -> np.ndarray:
        X = validate_data(
            self,
            X,
            reset=reset,
            allow_nd=True,
            dtype="numeric",
            ensure_min_samples=2 if reset else 1,
        )
        if not reset and tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but "
                f"{type(self).__name__} was fitted on samples of shape "
                f"{self.input_shape_}."
            )
        return X

    def to(self, device) -> DeepInfoMaxTransformer:
        """Move the fitted networks to ``device``; ``transform`` then runs there.

        Parameters
        ----------
        device : str or torch.device
            For example ``"cpu"`` to serve a model fitted on a GPU on the CPU,
            or ``"auto"``.

        Returns
        -------
        self : DeepInfoMaxTransformer
            The transformer, moved.
        """
        check_is_fitted(self)
        device = _resolve_device(device)
        for name in ("module_", "criterion_", "discriminator_"):
            network = getattr(self.net_, name, None)
            if network is not None:
                network.to(device)
        self.net_.device = device
        return self

    def transform(self, X):
        """Encode X to its global representation Y.

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_components), dtype float32
            The learned representation.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        encoder = self.net_.module_
        encoder.eval()
        output = np.empty((len(X), self.n_components), dtype=np.float32)
        start = 0
        data = as_tensor(X, self._layout)
        device = torch.device(self.net_.device)
        batches = TensorBatches(data, inference_batch_size(device), device=device)
        with torch.inference_mode(), self.net_.autocast(), compute_settings(device):
            for batch, _ in batches:
                _, global_vector = encoder(batch)
                output[start : start + len(batch)] = global_vector.float().cpu()
                start += len(batch)
        return output

    def score(self, X, y=None):
        """Mutual-information estimate of the fitted objective on X.

        ``alpha * global + beta * local`` bound, averaged over the full batches
        of ``batch_size`` samples (one batch of all samples when there are
        fewer); higher is better. Bounds of different
        ``mi_estimator`` values are not comparable.

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``, at least 2 samples.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The estimate in nats (for "jsd", twice the Jensen-Shannon
            divergence).
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        if len(X) < 2:
            raise ValueError(
                "score needs at least 2 samples to form negative pairs, got 1."
            )
        encoder, objective = self.net_.module_, self.net_.criterion_
        encoder.eval()
        objective.eval()
        batch_size = min(self.batch_size, len(X))
        # full batches only, as in training: bounds depend on the batch size
        data = as_tensor(X, self._layout)[: len(X) // batch_size * batch_size]
        device = torch.device(self.net_.device)
        batches = TensorBatches(data, batch_size, device=device)
        bounds = []
        with torch.inference_mode(), self.net_.autocast(), compute_settings(device):
            for batch, _ in batches:
                local_map, global_vector = encoder(batch)
                bounds.append(
                    objective.weighted_bound(objective.bounds(local_map, global_vector))
                )
        return float(torch.stack(bounds).mean())

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
