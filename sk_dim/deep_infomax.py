"""DeepInfoMaxTransformer: Deep InfoMax as a scikit-learn transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import NetEstimator
from ._builders import build_deep_infomax
from ._input.layout import InputLayout, infer_layout
from ._parameters import (
    TRAINING_CONSTRAINTS,
    document_training_parameters,
    store_parameters,
)
from .nn.augmentations import AUGMENTATIONS
from .nn.critics import CRITICS
from .nn.encoders import ENCODERS
from .nn.mi_estimators import MI_ESTIMATORS
from .nn.models import DeepInfoMax
from .nn.prior import PRIORS
from .nn.scaling import Standardize

__all__ = ["DeepInfoMaxTransformer"]


@document_training_parameters(
    notes={
        "lr_schedule": (
            'The prior discriminator keeps ``lr``. "auto" is "constant" for '
            "colour images, which are far from converged within minutes of "
            'training, and "cosine" otherwise.'
        ),
        "batch_size": "The other samples of a batch are the negatives of each.",
        "tol": (
            "The default is about the epoch-to-epoch noise of the default "
            "loss, which random crops and prior samples make stochastic."
        ),
        "compile": "On two CPU cores, compiled steps ran 2 to 14% faster.",
    },
    types={"lr_schedule": '{"auto", "cosine", "constant"}'},
    betas="0.5, 0.999",
    watched="mutual-information bound",
    seeded="the initialisation, batch order, augmentations and prior samples",
)
class DeepInfoMaxTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimator
):
    """Unsupervised representation learning by Deep InfoMax (Hjelm et al. 2019).

    An encoder maps each input to a local feature map and a global vector Y of
    ``n_components`` values. Training maximises a lower bound on the mutual
    information between Y and the feature map as a whole (global term, weight
    ``alpha``) and between Y and each location of the map (local term, weight
    ``beta``), while an adversarial term (weight ``gamma``) matches Y to a
    prior distribution. ``transform`` returns Y.

    Images (a convolutional encoder sized to the input) and feature rows (an
    MLP encoder) are both accepted. The parameters whose default is "auto"
    take the values measured best for the data: for colour images (3
    channels) those chosen on CIFAR-10, for other images and feature rows
    those chosen on MNIST (see the fitted attributes ``n_components_``,
    ``mi_estimator_``, ``critic_width_``, ``lr_schedule_`` and
    ``augmentation_``).

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Size of the learned representation Y. "auto" is 256 for colour
        images, where a wider Y serves a linear classifier better at the
        same training time, and 64 (the paper's) otherwise.
    alpha : float, default=0.0
        Weight of the global mutual-information term.
    beta : float, default=1.0
        Weight of the local mutual-information term. The defaults
        ``(alpha, beta, gamma) = (0, 1, 0.1)`` are the paper's DIM(L).
    gamma : float, default=0.1
        Weight of the prior-matching term; 0 disables it.
    mi_estimator : {"auto", "jsd", "infonce", "dv", "nwj", "second_order"}, \
            class or callable, default="auto"
        Mutual-information estimator: a name, an estimator class such as
        ``DV`` (instantiated without arguments), an instance such as
        ``DV(moving_average=0.01)`` (copied at fit), or a function mapping a
        (B, B, L) score tensor to a scalar bound (see
        :mod:`sk_dim.nn.mi_estimators`). "auto" is "infonce" for colour images and
        "jsd" otherwise.
    critic : {"encode_and_dot", "separable", "bilinear", "dot", "concat", \
            "concat_and_convolve"}, class or torch.nn.Module, \
            default="encode_and_dot"
        Critic scoring (global vector, local feature) pairs, built for each
        active term (see :mod:`sk_dim.nn.critics`). "encode_and_dot" and
        "concat_and_convolve" are the paper's two; the latter costs memory in
        proportion to ``batch_size**2`` times the number of local features,
        so it suits the global term (DIM(G)) best. A module instance maps
        (B, L, C) and (B, D) features to (B, B, L) scores; it is copied at
        fit and serves a single term (alpha or beta 0).
    prior : {"uniform", "gaussian"}, default="uniform"
        Prior matched by the adversarial term: uniform on ``[0, 1]^d`` for
        ``sigmoid(Y)`` or standard normal for Y.
    encoder : {"auto", "conv", "resnet", "alexnet", "mlp"} or \
            torch.nn.Module, default="auto"
        "conv" is the paper's DCGAN-like encoder, "resnet" a small residual
        network with the same stages and "alexnet" the paper's AlexNet-like
        encoder for 64 pixel images (at least 16 pixels); all three size
        themselves to the images and refuse images below their minimum
        rather than resize them (see :mod:`sk_dim.nn.encoders`). "mlp" encodes
        feature rows, or flattened images. "auto" is "conv" for images and
        "mlp" for rows. A module instance, copied at fit with its weights as
        the starting point, receives standardised (B, C, H, W) images or
        (B, F) rows and returns ``(local_map, global_vector)`` of shapes
        (B, C', H', W') and (B, n_components), or only the global vectors;
        then the global term scores Y against the input itself, and
        ``beta`` must be 0.
    image_shape : tuple of int, default=None
        ``(C, H, W)`` or ``(H, W)`` when a 2-D X holds flattened images. Without
        it a 2-D X is treated as feature rows.
    channels : {"auto", "first", "last"}, default="auto"
        Position of the channel axis of a 4-D X. "auto" picks the axis of size
        1, 3 or 4, preferring (N, C, H, W) when both qualify.
    augmentation : {"auto", "crop", "crop_flip", "crop_colour", "photo"}, \
            callable or None, default="auto"
        Augmentation of the training images. With one, every step encodes two
        augmented views of each image and scores the global vector Y of each
        view against the local features of the other, so that Y must predict
        the content of the image rather than the exact pixels of its view (as
        in Bachman et al. 2019). "crop" takes random crops of images padded by
        an eighth of their side (translations of up to 3 pixels at 28
        pixels); "crop_flip" also mirrors half of them (not for digits or
        text); "crop_colour" also replaces each view's channels by random
        mixtures of them; "photo" is SimCLR's augmentation for photographs
        (random resized crops, flips, colour jitter and grayscale, see
        :class:`~sk_dim.nn.photo.PhotoAugmentation`, whose instances set its
        parameters). A callable maps a float tensor batch (B, C, H, W), or
        (B, F) for rows, to a batch of the same shape and must be
        picklable. "auto" is "photo" for colour images (3 channels), "crop"
        for other images and None for feature rows; None trains on the data
        as given, scoring one view against itself (the original DIM). The
        augmentation used is ``augmentation_``.
    critic_width : int or "auto", default="auto"
        Width of the critics' hidden layers. The critics embed both sides in a
        space of ``n_components_`` dimensions. "auto" is 128 for colour
        images, where narrower critics train the encoder as well at a
        quarter of the cost, and 512 otherwise.
    occlusion : float in [0, 1), default=0.0
        Side of a square, as a share of the images' smaller side, hidden at a
        random place of each training image when computing Y; the local
        features come from the full image, so Y must predict the hidden part
        (the paper's occlusion). 0 disables it; images only. It doubles the
        encoder's work per step.
    coordinate_weight : float, default=0.0
        Weight of the paper's coordinate prediction: a small network
        predicts the row and column of each local feature from it and Y,
        and its cross-entropy is added to the loss. 0 disables it; it needs a
        local map of several locations (an image encoder).
    <training parameters>
    layer : {"global", "fc", "conv", "local"}, default="global"
        Layer of the encoder that ``transform`` returns, the paper's taps:
        "global" is Y (``n_components`` values); "fc" the fully connected
        layer below it (the last hidden layer of the MLP encoder); "conv" the
        map of the last convolution, flattened (image encoders only);
        "local" the local feature map, flattened. It is read by
        ``transform``, so one fitted model serves every layer through
        ``set_params(layer=...)``.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the
        :class:`~sk_dim.nn.models.DeepInfoMax` model, whose ``encoder``
        gives the representation.
    device_ : torch.device
        Device the model was last trained on (by ``fit``, or ``partial_fit``
        where the net then was) or moved to by ``to``. ``transform`` runs
        where the net is: a model fitted on a GPU and unpickled or loaded on
        a machine without one runs, and trains on, the CPU.
    n_components_ : int
        Size of Y, the value of ``n_components``.
    mi_estimator_ : str, class or callable
        The estimator that ``mi_estimator`` resolved to.
    critic_width_ : int
        Width of the critics' hidden layers, the value of ``critic_width``.
    lr_schedule_ : str
        The schedule that ``lr_schedule`` resolved to.
    augmentation_ : callable or None
        The augmentation of the training images that ``augmentation``
        resolved to.
    precision_ : str
        Precision of the training steps, "32", "bf16" or "16-mixed" (what
        ``precision="auto"`` resolved to on ``device_``).
    n_features_in_ : int
        Number of features (for 2-D X) or size of the second axis of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.
    batch_size_ : int
        Samples per training step in the last call of ``fit`` or
        ``partial_fit``: ``batch_size``, or fewer when the data held fewer.
    n_iter_ : int
        Number of epochs run (by ``fit``, then one more per ``partial_fit``).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float or None
        Held-out bound after each epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        Highest held-out bound with ``early_stopping``, whose weights the
        model keeps; else None.
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

    A fit stopped by ``KeyboardInterrupt`` (Ctrl-C) keeps the weights it
    reached and warns; the model can be used at once. A call that fails on
    bad input leaves a fitted model as it was.

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

    _adam_betas = (0.5, 0.999)
    _transform_params = ("layer",)
    _parameter_constraints: ClassVar[dict] = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "mi_estimator": [StrOptions({"auto", *MI_ESTIMATORS}), callable],
        "prior": [StrOptions(set(PRIORS))],
        "encoder": [StrOptions({"auto", *ENCODERS}), nn.Module],
        "image_shape": [None, tuple, list],
        "channels": [StrOptions({"auto", "first", "last"})],
        "augmentation": [None, StrOptions({"auto", *AUGMENTATIONS}), callable],
        "critic": [StrOptions(set(CRITICS)), type, nn.Module],
        "critic_width": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "occlusion": [Interval(Real, 0, 1, closed="left")],
        "coordinate_weight": [Interval(Real, 0, None, closed="left")],
        **TRAINING_CONSTRAINTS,
        "lr_schedule": [StrOptions({"auto", "cosine", "constant"})],
        "layer": [StrOptions({"global", "fc", "conv", "local"})],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        alpha=0.0,
        beta=1.0,
        gamma=0.1,
        mi_estimator="auto",
        critic="encode_and_dot",
        prior="uniform",
        encoder="auto",
        image_shape=None,
        channels="auto",
        augmentation="auto",
        critic_width="auto",
        occlusion=0.0,
        coordinate_weight=0.0,
        lr=1e-3,
        lr_schedule="auto",
        batch_size=64,
        max_epochs=10,
        max_time=None,
        tol=1e-2,
        n_iter_no_change=3,
        early_stopping=False,
        validation_fraction=0.1,
        chunk_size=None,
        callbacks=None,
        warm_start=False,
        device="auto",
        compile=False,
        precision="auto",
        random_state=None,
        verbose=0,
        layer="global",
    ):
        store_parameters(self, locals())

    def _check_training_data(self, X: np.ndarray) -> InputLayout:
        if self.alpha == 0 and self.beta == 0:
            raise ValueError(
                "At least one of alpha (global term) and beta (local term) must "
                "be positive, got alpha=0 and beta=0."
            )
        return infer_layout(X, self.image_shape, self.channels)

    def _build_model(self, scaling: Standardize) -> DeepInfoMax:
        params = self._training_params()
        model = build_deep_infomax(params, self._layout, scaling)
        self.n_components_ = params["n_components"]
        self.mi_estimator_ = params["mi_estimator"]
        self.critic_width_ = params["critic_width"]
        self.lr_schedule_ = params["lr_schedule"]
        self.augmentation_ = model.augmentation
        return model

    @staticmethod
    def _saved_scaling(weights: dict[str, torch.Tensor]) -> Standardize:
        return Standardize(
            weights["encoder.standardize.offset"], weights["encoder.standardize.scale"]
        )

    def transform(self, X):
        """Encode X to its representation: Y, or the layer named by ``layer``.

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_features_out), dtype float32
            The learned representation: (n_samples, n_components) for the
            default ``layer="global"``.
        """
        check_is_fitted(self)
        data = self._input_data(X)
        self._check_net_params()
        encoder = self.net_.module_.encoder.eval()
        if self.layer == "global":
            return self._inference(data, lambda batch: encoder(batch)[1])
        return self._inference(
            data, lambda batch: encoder.features(batch)[self.layer].flatten(1)
        )

    def _check_net_params(self) -> None:
        encoder = self.net_.module.encoder.encoder  # also before initialisation
        taps = encoder.feature_sizes
        if self.layer not in taps:
            raise ValueError(
                f"layer={self.layer!r} is not a layer of the "
                f"{type(encoder).__name__}; its layers are "
                f"{sorted(taps)}."
            )

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
        return self._held_out_score(self._input_data(X))

    @property
    def _n_features_out(self) -> int:
        return self.net_.module_.encoder.feature_sizes[self.layer]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
