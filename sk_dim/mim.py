"""MutualInformationMachine: the Mutual Information Machine as a transformer."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import NetEstimator, draw_seed, seeded_torch
from ._builders import build_latent_variable_model
from ._input.checks import SampleCheck, check_hidden_layer_sizes
from ._input.layout import InputLayout, infer_layout
from ._parameters import (
    TRAINING_CONSTRAINTS,
    document_training_parameters,
    store_parameters,
)
from .nn.encoders import ENCODERS
from .nn.models import LatentVariableModel
from .nn.objectives.mim import OBJECTIVES, importance_log_likelihood
from .nn.scaling import Standardize

__all__ = ["MutualInformationMachine"]

#: Codes per sample of the importance-sampled log-likelihood of ``score``.
N_IMPORTANCE_SAMPLES = 16


@document_training_parameters(
    betas="0.9, 0.999",
    watched="negative loss",
    seeded="the initialisation, batch order and the samples of the fit and of "
    "``score``",
    precision_auto='"auto" is "32" on every device: the log-densities sum a '
    "term per input value, which bfloat16 would round away.",
)
class MutualInformationMachine(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimator
):
    """Mutual Information Machine (Livne, Swersky and Fleet 2019).

    A latent-variable model with a Gaussian encoder q(z|x) and a decoder
    p(x|z) trained, like a VAE, to encode and reconstruct, but with an
    objective that makes the encoder of low entropy: the mutual information
    between x and z stays high and latent dimensions do not collapse to the
    prior (see :mod:`sk_dim.nn.objectives.mim`). ``transform`` returns the
    posterior means, ``inverse_transform`` decodes codes, ``sample`` draws
    new data and ``score`` estimates the log-likelihood.

    Parameters
    ----------
    n_components : int, default=16
        Size of the latent codes z.
    objective : {"a-mim", "mim", "vae"}, default="a-mim"
        "a-mim" trains on encoder samples only (x from the data, z ~ q(z|x)),
        the paper's asymmetric MIM, which it uses for images; "mim" also
        trains on as many decoder samples (z ~ N(0, I), x ~ p(x|z)), with
        log q(x) estimated by one importance sample: twice the work, and a
        noisy gradient through the samples of a Bernoulli decoder, which
        suits low-dimensional data best; "vae" is the evidence lower bound
        of a VAE of the same networks, the baseline.
    likelihood : {"auto", "bernoulli", "gaussian"}, default="auto"
        p(x|z): independent Bernoulli values (for data in [0, 1], or uint8
        images scaled to it) or a Gaussian around the decoded mean, in the
        standardised space of the data, with a learned variance per feature.
        "auto" is "bernoulli" for data of only 0 and 1, else "gaussian".
    encoder : {"auto", "mlp", "conv", "resnet", "alexnet"}, default="auto"
        "mlp": multi-layer perceptrons for encoder and decoder (on flattened
        images for images); "conv", "resnet" and "alexnet": an image encoder
        of :mod:`sk_dim.nn.encoders` (see ``DeepInfoMaxTransformer``) and a
        transposed-convolution decoder. "auto" is "conv" for images and
        "mlp" for rows.
    hidden_layer_sizes : tuple of int, default=(512, 512)
        Widths of the hidden layers of the MLP encoder; the MLP decoder has
        them in reverse order.
    image_shape : tuple of int, default=None
        ``(C, H, W)`` or ``(H, W)`` when a 2-D X holds flattened images.
    channels : {"auto", "first", "last"}, default="auto"
        Position of the channel axis of a 4-D X, as in
        :class:`~sk_dim.DeepInfoMaxTransformer`.
    <training parameters>

    Attributes
    ----------
    likelihood_ : str
        The likelihood used, "bernoulli" or "gaussian".
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the
        :class:`~sk_dim.nn.models.LatentVariableModel`.
    device_ : torch.device
        Device the model was last trained on (by ``fit``, or ``partial_fit``
        where the net then was) or moved to by ``to``. ``transform`` runs
        where the net is: a model fitted on a GPU and unpickled or loaded on
        a machine without one runs, and trains on, the CPU.
    precision_ : str
        Precision of the training steps, "32", "bf16" or "16-mixed" (what
        ``precision="auto"`` resolved to on ``device_``).
    n_features_in_ : int
        Number of features (for 2-D X) or size of the second axis of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.
    input_shape_ : tuple of int
        Shape of one sample of the training data.
    batch_size_ : int
        Samples per training step in the last call of ``fit`` or
        ``partial_fit``: ``batch_size``, or fewer when the data held fewer.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float or None
        Held-out negative loss after each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best held-out negative loss with ``early_stopping``.

    See Also
    --------
    DeepInfoMaxTransformer : Representations by mutual information without a
        decoder.

    References
    ----------
    Micha Livne, Kevin Swersky and David J. Fleet. "High Mutual Information in
    Representation Learning with Symmetric Variational Inference". NeurIPS
    Workshop on Bayesian Deep Learning, 2019. arXiv:1910.04153.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_dim import MutualInformationMachine
    >>> X, _ = load_digits(return_X_y=True)
    >>> mim = MutualInformationMachine(n_components=8, max_epochs=2, random_state=0)
    >>> Z = mim.fit_transform(X)
    >>> Z.shape, mim.inverse_transform(Z).shape, mim.sample(3).shape
    ((1797, 8), (1797, 64), (3, 64))
    """

    _cuda_auto_precision = "32"
    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "objective": [StrOptions(set(OBJECTIVES))],
        "likelihood": [StrOptions({"auto", "bernoulli", "gaussian"})],
        "encoder": [StrOptions({"auto", *ENCODERS})],
        "hidden_layer_sizes": [tuple, list],
        "image_shape": [None, tuple, list],
        "channels": [StrOptions({"auto", "first", "last"})],
        **TRAINING_CONSTRAINTS,
    }
    _saved_attributes = ("likelihood_",)

    def __init__(
        self,
        n_components=16,
        *,
        objective="a-mim",
        likelihood="auto",
        encoder="auto",
        hidden_layer_sizes=(512, 512),
        image_shape=None,
        channels="auto",
        lr=1e-3,
        lr_schedule="cosine",
        batch_size=128,
        max_epochs=20,
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
    ):
        store_parameters(self, locals())

    def _choose_from_input(self, X: np.ndarray) -> None:
        """Pick ``likelihood_``: Bernoulli for "auto" when X holds only 0 and 1."""
        binary = bool(np.all((X == 0) | (X == 1)))
        auto = "bernoulli" if binary else "gaussian"
        self.likelihood_ = auto if self.likelihood == "auto" else self.likelihood

    def _sample_check(self, sample_shape: tuple[int, ...]) -> SampleCheck:
        """Samples of ``sample_shape``; in [0, 1] for a Bernoulli likelihood.

        Of out-of-core X, ``likelihood="auto"`` reads the sample that the
        scaling is learnt from, and every chunk is checked as it is read.
        """
        if self.likelihood_ != "bernoulli":
            return super()._sample_check(sample_shape)
        return SampleCheck(
            type(self).__name__,
            tuple(sample_shape),
            unit_interval="likelihood='bernoulli'",
            alternative="likelihood='gaussian'",
        )

    def _check_training_data(self, X: np.ndarray) -> InputLayout:
        check_hidden_layer_sizes(self.hidden_layer_sizes, allow_empty=False)
        return infer_layout(X, self.image_shape, self.channels)

    def _fit_scaling(self, X: np.ndarray) -> Standardize:
        """[0, 1] for the Bernoulli likelihood, else the standardisation of DIM."""
        if self.likelihood_ == "bernoulli":
            scale = 255.0 if X.dtype == np.uint8 else 1.0
            return Standardize(torch.tensor(0.0), torch.tensor(scale))
        return super()._fit_scaling(X)

    def _training_params(self) -> dict:
        params = super()._training_params()
        params["hidden_layer_sizes"] = check_hidden_layer_sizes(
            self.hidden_layer_sizes, allow_empty=False
        )
        return params

    def _build_model(self, scaling: Standardize) -> LatentVariableModel:
        params = self._training_params()
        return build_latent_variable_model(
            scaling,
            params["encoder"],
            self._layout.image_shape or self._layout.sample_shape,
            params["n_components"],
            params["hidden_layer_sizes"],
            self.likelihood_,
            params["objective"],
        )

    @staticmethod
    def _saved_scaling(weights: dict[str, torch.Tensor]) -> Standardize:
        return Standardize(weights["standardize.offset"], weights["standardize.scale"])

    def transform(self, X):
        """Encode X to the means of q(z|x).

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), dtype float32
        """
        check_is_fitted(self)
        model = self.net_.module_.eval()
        return self._inference(self._input_data(X), lambda batch: model(batch)[0])

    def inverse_transform(self, Z):
        """Decode codes to the mean of p(x|z), in the layout and scale of X.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        X : ndarray of shape (n_samples, ...), dtype float32
            Probabilities of 1 (times 255 for uint8 images) for the Bernoulli
            likelihood, means for the Gaussian one.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32, input_name="Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but {type(self).__name__} has "
                f"n_components={self.n_components}."
            )
        return self._decode(torch.from_numpy(Z), sample=False)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples: codes from N(0, I), then data from p(x|z).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; the global random state is left untouched.

        Returns
        -------
        X : ndarray of shape (n_samples, ...), dtype float32
            Samples in the layout and scale of X.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        with seeded_torch(draw_seed(random_state), torch.device(self.net_.device)):
            codes = torch.randn(n_samples, self.n_components)
            return self._decode(codes, sample=True)

    def score_samples(self, X):
        """Importance-sampled log-likelihood of each sample.

        ``log mean_k p(x|z_k) P(z_k) / q(z_k|x)`` over 16 codes z_k ~ q(z|x),
        in nats, in the units of X (the Gaussian likelihood includes the
        standardisation's Jacobian); a lower bound of log p(x) in
        expectation. The codes' noise is drawn once from the seed of the
        fit, so that repeated calls agree and each sample's value depends
        on it alone.

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,), dtype float32
            Computed in float32, as the model is.
        """
        check_is_fitted(self)
        model = self.net_.module_.eval()
        log_jacobian = 0.0
        if self.likelihood_ == "gaussian":
            scale = model.standardize.scale.expand(model.sample_shape)
            log_jacobian = -float(torch.log(scale).sum())
        generator = torch.Generator().manual_seed(self.net_.seed)
        noise = torch.randn(
            N_IMPORTANCE_SAMPLES, self.n_components, generator=generator
        ).to(self.net_.device)
        scores = self._inference(
            self._input_data(X),
            lambda batch: importance_log_likelihood(model, model.prepare(batch), noise),
        )
        return scores + np.float32(log_jacobian)

    def score(self, X, y=None):
        """Mean importance-sampled log-likelihood of X (see ``score_samples``).

        Parameters
        ----------
        X : array-like
            Data of the same layout as in ``fit``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    def _decode(self, codes: torch.Tensor, sample: bool) -> np.ndarray:
        """Means (or samples) of p(x|z) for codes, in the layout and scale of X."""
        model = self.net_.module_.eval()
        likelihood = model.likelihood

        def decode(batch: torch.Tensor) -> torch.Tensor:
            parameters = model.decode(batch)
            if sample:
                return model.standardize.invert(likelihood.sample(parameters))
            return model.standardize.invert(likelihood.mean(parameters))

        return self._to_input_layout(torch.from_numpy(self._inference(codes, decode)))

    def _to_input_layout(self, values: torch.Tensor) -> np.ndarray:
        layout = self._layout
        if layout.image_shape is not None:
            values = values.reshape(len(values), *layout.image_shape)
            if layout.channels_last:
                values = values.permute(0, 2, 3, 1)
        return values.reshape(len(values), *layout.sample_shape).numpy()

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
