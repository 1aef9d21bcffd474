"""MutualInformationMachine: losses against references, behaviour, methods, errors."""

import math
import pickle

import numpy as np
import pytest
import torch
from torch import distributions, nn

from sk_dim import MutualInformationMachine
from sk_dim._builders import build_latent_variable_model
from sk_dim.nn.latent import (
    BernoulliLikelihood,
    GaussianLikelihood,
    gaussian_log_density,
)
from sk_dim.nn.models import LatentVariableModel
from sk_dim.nn.objectives.mim import (
    importance_log_likelihood,
    score_function_surrogate,
)
from sk_dim.nn.scaling import Standardize

#: Settings that make a fit take a fraction of a second.
SMALL = {
    "n_components": 4,
    "hidden_layer_sizes": (32,),
    "batch_size": 32,
    "max_epochs": 2,
    "random_state": 0,
}


def small(**params):
    return MutualInformationMachine(**{**SMALL, **params})


def identity_scaling():
    return Standardize(torch.tensor(0.0), torch.tensor(1.0))


@pytest.fixture(scope="module")
def binary_digits(digits):
    X, y = digits
    return (X > 7).astype(np.float32), y


def test_gaussian_log_density_matches_torch():
    generator = torch.Generator().manual_seed(0)
    values, mean, log_var = torch.randn(3, 5, 4, generator=generator)
    expected = distributions.Normal(mean, torch.exp(0.5 * log_var)).log_prob(values)
    torch.testing.assert_close(
        gaussian_log_density(values, mean, log_var), expected.sum(1)
    )


def _reference_encoder_losses(model, inputs, objective):
    """Per-sample losses of encoder samples, in a loop over torch.distributions."""
    scaled = model.prepare(inputs)
    mean, log_var = model.encode(scaled)
    noise = torch.randn_like(mean)  # the draw of the objective, same seed
    losses = []
    for i in range(len(inputs)):
        std = torch.exp(0.5 * log_var[i])
        code = mean[i] + std * noise[i]
        posterior = distributions.Normal(mean[i], std).log_prob(code).sum()
        prior = distributions.Normal(0.0, 1.0).log_prob(code).sum()
        parameters = model.decode(code[None])[0]
        if isinstance(model.likelihood, BernoulliLikelihood):
            output = distributions.Bernoulli(logits=parameters)
        else:
            scale = torch.exp(0.5 * model.likelihood.log_var)
            output = distributions.Normal(parameters, scale)
        likelihood = output.log_prob(scaled[i]).sum()
        if objective == "vae":
            losses.append(posterior - likelihood - prior)
        else:
            losses.append(-0.5 * (likelihood + prior + posterior))
    return torch.stack(losses)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("objective", ["vae", "a-mim"])
def test_encoder_sample_losses_match_a_loop_reference(objective, likelihood):
    torch.manual_seed(0)
    model = build_latent_variable_model(
        identity_scaling(), "mlp", (6,), 3, (8,), likelihood, objective
    )
    model.eval()  # batch norm by running statistics, as in the per-sample loop
    inputs = torch.bernoulli(torch.full((5, 6), 0.5))
    torch.manual_seed(1)
    loss, codes, _ = model.loss(inputs)
    torch.manual_seed(1)
    expected = _reference_encoder_losses(model, inputs, objective)
    torch.testing.assert_close(loss, expected.mean())
    torch.testing.assert_close(codes, model(inputs)[0])


def test_mim_averages_encoder_and_decoder_halves():
    torch.manual_seed(0)
    model = build_latent_variable_model(
        identity_scaling(), "mlp", (6,), 3, (8,), "gaussian", "mim"
    )
    model.eval()
    inputs = torch.randn(5, 6)
    torch.manual_seed(1)
    loss, _, terms = model.loss(inputs)
    # the decoder half, by hand: z ~ P(z), x ~ p(x|z), z' ~ q(z|x)
    torch.manual_seed(1)
    codes = torch.randn(5, 3)
    parameters = model.decode(codes)
    samples = model.likelihood.sample(parameters)
    means, log_vars = model.encode(torch.cat([inputs, samples]))
    encoder_noise = torch.randn(5, 3)
    proposal_noise = torch.randn(5, 3)
    mean, log_var = means[5:], log_vars[5:]
    std = torch.exp(0.5 * log_var)
    proposal = mean + std * proposal_noise
    prior = distributions.Normal(0.0, 1.0)
    posterior = distributions.Normal(mean, std)
    output = distributions.Normal(
        model.decode(proposal), torch.exp(0.5 * model.likelihood.log_var)
    )
    log_marginal = (
        output.log_prob(samples).flatten(1).sum(1)
        + prior.log_prob(proposal).sum(1)
        - posterior.log_prob(proposal).sum(1)
    )
    own = distributions.Normal(parameters, torch.exp(0.5 * model.likelihood.log_var))
    decoder_half = -0.5 * (
        own.log_prob(samples).sum(1)
        + prior.log_prob(codes).sum(1)
        + posterior.log_prob(codes).sum(1)
        + log_marginal
    )
    # the encoder half with the encoder noise drawn after the prior samples
    mean, log_var = means[:5], log_vars[:5]
    std = torch.exp(0.5 * log_var)
    data_codes = mean + std * encoder_noise
    data_output = distributions.Normal(
        model.decode(data_codes), torch.exp(0.5 * model.likelihood.log_var)
    )
    encoder_half = -0.5 * (
        data_output.log_prob(inputs).sum(1)
        + prior.log_prob(data_codes).sum(1)
        + distributions.Normal(mean, std).log_prob(data_codes).sum(1)
    )
    torch.testing.assert_close(loss, (encoder_half.mean() + decoder_half.mean()) / 2)
    torch.testing.assert_close(terms["encoder_samples"], encoder_half.mean())
    torch.testing.assert_close(terms["decoder_samples"], decoder_half.mean())


class _ExactPosterior(nn.Module):
    """q(z|x) = p(z|x) of the model z ~ N(0, 1), x | z ~ N(z, noise)."""

    def __init__(self, noise: float):
        super().__init__()
        self.noise = noise

    def forward(self, scaled):
        shrink = 1 / (1 + self.noise)
        log_var = torch.full_like(scaled, math.log(self.noise * shrink))
        return scaled * shrink, log_var


@pytest.mark.parametrize("n_samples", [1, 8])
def test_importance_log_likelihood_is_exact_with_the_true_posterior(n_samples):
    noise = 0.5
    likelihood = GaussianLikelihood((1,), min_log_var=-20.0)
    with torch.no_grad():  # log_var = log(noise) through the softplus floor
        likelihood.raw_log_var.fill_(math.log(noise))
    model = LatentVariableModel(
        identity_scaling(), _ExactPosterior(noise), nn.Identity(), likelihood, (1,), 1
    )
    values = torch.linspace(-3, 3, 7)[:, None]
    expected = distributions.Normal(0.0, math.sqrt(1 + noise)).log_prob(values)
    noise = torch.randn(n_samples, 1, generator=torch.Generator().manual_seed(0))
    estimate = importance_log_likelihood(model, values, noise)
    torch.testing.assert_close(estimate, expected[:, 0], atol=1e-4, rtol=0)


def test_mim_keeps_more_information_than_the_vae(binary_digits):
    """Lower posterior variance, and more dimensions whose code varies with x.

    A dimension informs about x when its posterior mean varies over the data
    more than the codes of one input vary around it.
    """
    X, _ = binary_digits
    posterior = {}
    for objective in ["vae", "a-mim", "mim"]:
        model = small(objective=objective, n_components=16, max_epochs=8).fit(X)
        with torch.no_grad():
            mean, log_var = model.net_.module_.eval()(torch.from_numpy(X))
        signal_to_noise = mean.var(0) / torch.exp(log_var).mean(0)
        posterior[objective] = (
            float(log_var.mean()),
            int((signal_to_noise > 1).sum()),
        )
    for objective in ["a-mim", "mim"]:
        assert posterior[objective][0] < posterior["vae"][0] - 1
        assert posterior[objective][1] >= posterior["vae"][1] + 8


def test_fit_transform_inverse_transform_and_sample(binary_digits):
    X, _ = binary_digits
    model = small().fit(X)
    assert model.likelihood_ == "bernoulli"
    Z = model.transform(X)
    assert Z.shape == (len(X), 4) and Z.dtype == np.float32
    decoded = model.inverse_transform(Z)
    assert decoded.shape == X.shape and decoded.min() >= 0 and decoded.max() <= 1
    drawn = model.sample(5, random_state=0)
    assert drawn.shape == (5, 64) and set(np.unique(drawn)) <= {0.0, 1.0}
    np.testing.assert_array_equal(drawn, model.sample(5, random_state=0))
    assert list(model.get_feature_names_out()[:1]) == ["mutualinformationmachine0"]


def test_a_mim_reconstructs_better_than_the_vae(binary_digits):
    X, _ = binary_digits
    errors = {}
    for objective in ["a-mim", "vae"]:
        model = small(
            objective=objective,
            n_components=8,
            hidden_layer_sizes=(128,),
            max_epochs=15,
        ).fit(X)
        errors[objective] = np.mean(
            (model.inverse_transform(model.transform(X)) - X) ** 2
        )
    assert errors["a-mim"] < 0.5 * np.mean((X.mean(0) - X) ** 2)
    assert errors["a-mim"] < errors["vae"]


def test_fits_are_reproducible_and_leave_the_global_state(digits):
    X, _ = digits
    state = torch.get_rng_state()
    first = small(objective="mim").fit_transform(X)
    np.testing.assert_array_equal(first, small(objective="mim").fit_transform(X))
    assert not np.array_equal(first, small(random_state=1).fit_transform(X))
    assert torch.equal(state, torch.get_rng_state())


def test_score_is_in_the_units_of_x(digits):
    """The Gaussian likelihood's score includes the standardisation's Jacobian."""
    X, _ = digits
    X = X[:, X.std(0) > 0]  # constant pixels are only centred, not scaled
    score = small().fit(X).score(X)
    scaled_score = small().fit(10 * X).score(10 * X)
    assert scaled_score == pytest.approx(score - X.shape[1] * math.log(10), abs=0.05)


def test_score_is_reproducible_and_tracks_the_fit(digits):
    X, _ = digits
    untrained = small(max_epochs=1, lr=1e-6).fit(X)
    trained = small(max_epochs=10).fit(X)
    assert trained.score(X) == trained.score(X)
    assert trained.score(X) > untrained.score(X)
    assert trained.score_samples(X[:3]).shape == (3,)


def test_images_with_the_convolutional_networks(digits):
    X, _ = digits
    images = (X.reshape(-1, 8, 8, 1) * 255 / 16).astype(np.uint8)  # channels last
    model = small().fit(images)
    assert model.likelihood_ == "gaussian"
    assert type(model.net_.module_.decoder).__name__ == "ConvDecoder"
    decoded = model.inverse_transform(model.transform(images))
    assert decoded.shape == images.shape
    assert abs(decoded.mean() - images.mean()) < 0.2 * images.std()
    bernoulli = small(likelihood="bernoulli").fit(images)
    assert set(np.unique(bernoulli.sample(4, random_state=0))) <= {0.0, 255.0}


def test_partial_fit_goes_on_training(digits):
    X, _ = digits
    model = small().partial_fit(X).partial_fit(X)
    assert model.n_iter_ == 2


@pytest.mark.parametrize("dump", ["pickle", "save"])
def test_round_trips(digits, tmp_path, dump):
    X, _ = digits
    model = small().fit(X)
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        restored = MutualInformationMachine.load(model.save(tmp_path / "m"), "cpu")
    assert restored.likelihood_ == model.likelihood_
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
    assert restored.score(X) == model.score(X)


def test_bernoulli_needs_values_in_the_unit_interval(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs X in \[0, 1\]"):
        small(likelihood="bernoulli").fit(X)
    model = small().fit((X > 7).astype(float))
    with pytest.raises(ValueError, match="got values from 0 to 16"):
        model.transform(X)


@pytest.mark.parametrize("encoder", ["resnet", "mlp"])
def test_every_encoder_of_the_registry_serves_images(encoder):
    images = np.random.default_rng(0).integers(0, 256, (64, 1, 16, 16), np.uint8)
    model = small(encoder=encoder).fit(images)
    decoder = type(model.net_.module_.decoder).__name__
    assert decoder == ("FeedForward" if encoder == "mlp" else "ConvDecoder")
    assert model.inverse_transform(model.transform(images)).shape == images.shape


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"encoder": "conv"}, "encoder='conv' needs images"),
        ({"encoder": "alexnet"}, "encoder='alexnet' needs images"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes must be"),
        ({"objective": "elbo"}, "'objective' parameter"),
    ],
)
def test_bad_parameters_are_refused(digits, params, message):
    X, _ = digits
    with pytest.raises(ValueError, match=message):
        small(**params).fit(X)


def test_bad_codes_and_sample_counts_are_refused(digits):
    X, _ = digits
    model = small().fit(X)
    with pytest.raises(ValueError, match="Z has 3 columns.*n_components=4"):
        model.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Input Z contains NaN"):
        model.inverse_transform(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        model.sample(0)
    with pytest.raises(ValueError, match="X has 10 features"):
        model.transform(X[:, :10])


def test_values_beyond_float32_are_refused_by_score(digits):
    X, _ = digits
    model = small().fit(X)
    beyond = X.astype(np.float64)
    beyond[0, 0] = 1e39
    with pytest.raises(ValueError, match="beyond the float32 range"):
        model.score(beyond)


def test_the_score_function_baseline_leaves_each_sample_out():
    loss = torch.tensor([1.0, 2.0, 4.0, 9.0])
    log_prob = torch.zeros(4, requires_grad=True)
    surrogate = score_function_surrogate(loss, log_prob)
    torch.testing.assert_close(surrogate, loss)  # the values are unchanged
    surrogate.sum().backward()
    others = (loss.sum() - loss) / 3  # the mean loss of the other samples
    torch.testing.assert_close(log_prob.grad, loss - others)
