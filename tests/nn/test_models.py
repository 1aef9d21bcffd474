"""The three models as plain PyTorch modules, each trained in a loop of one's own."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine, TwoViewInfoMax
from sk_dim.nn import DeepInfoMax, LatentVariableModel, TwoViewModel
from sk_dim.nn.encoders import ConvEncoder, FeedForward, MLPEncoder, ModuleEncoder
from sk_dim.nn.latent import GaussianEncoder, GaussianLikelihood
from sk_dim.nn.models import InfoMaxModel
from sk_dim.nn.scaling import Standardize
from sk_dim.nn.views import SplitColumns


def clusters(n_samples=512, n_classes=4, n_features=20, seed=0):
    """Rows of 4 Gaussian clusters in a random 2-D subspace, in noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(n_classes, size=n_samples)
    centres = 3 * rng.normal(size=(n_classes, 2))
    basis = rng.normal(size=(2, n_features))
    rows = (centres[labels] + 0.3 * rng.normal(size=(n_samples, 2))) @ basis
    rows += rng.normal(size=(n_samples, n_features))
    return torch.as_tensor(rows, dtype=torch.float32), labels


def train_in_a_plain_loop(model: InfoMaxModel, rows: torch.Tensor, epochs: int):
    """The ten lines that train any model of sk_dim.nn."""
    optimizer = torch.optim.Adam(model.main_parameters(), lr=1e-3)
    adversary = model.adversary and torch.optim.Adam(model.adversary.parameters())
    for _ in range(epochs):
        for batch in rows[torch.randperm(len(rows))].split(64):
            loss = model.train().loss(batch)
            optimizer.zero_grad()
            loss.total.backward()
            optimizer.step()
            if adversary:
                adversary.zero_grad()
                model.adversary_loss(loss.codes.detach()).backward()
                adversary.step()


def probe_accuracy(codes: torch.Tensor, labels) -> float:
    classifier = LogisticRegression(max_iter=1000)
    return cross_val_score(classifier, codes.detach().numpy(), labels).mean()


def identity_scaling(shape=()) -> Standardize:
    return Standardize(torch.zeros(shape), torch.ones(shape))


def deep_infomax() -> DeepInfoMax:
    return DeepInfoMax(MLPEncoder(20, 8, hidden_layer_sizes=(64,)), alpha=0.5)


def latent_variable_model() -> LatentVariableModel:
    encoder = GaussianEncoder(MLPEncoder(20, 2 * 4, hidden_layer_sizes=(64,)))
    decoder = FeedForward(4, 20, (64,))
    return LatentVariableModel(
        identity_scaling(), encoder, decoder, GaussianLikelihood((20,)), (20,), 4
    )


def two_view_model() -> TwoViewModel:
    encoders = (FeedForward(10, 8, (64,)), FeedForward(10, 8, (64,)))
    scalings = (identity_scaling(), identity_scaling())
    return TwoViewModel(SplitColumns(), scalings, encoders, n_components=8)


def codes_of(model: InfoMaxModel, rows: torch.Tensor) -> torch.Tensor:
    """What each estimator's transform returns of its model."""
    # Y of (local map, Y); the means of (means, log-variances); view a's codes
    index = 1 if isinstance(model, DeepInfoMax) else 0
    with torch.no_grad():
        return model.eval()(rows)[index]


@pytest.mark.parametrize("build", [deep_infomax, latent_variable_model, two_view_model])
def test_a_ten_line_pytorch_loop_trains_every_model(build):
    torch.manual_seed(0)
    rows, labels = clusters()
    model = build()
    with torch.no_grad():
        score_before = float(model.eval().score(rows))
    train_in_a_plain_loop(model, rows, epochs=30)
    with torch.no_grad():
        score_after = float(model.eval().score(rows))
    assert score_after > score_before + 0.3
    assert probe_accuracy(codes_of(model, rows), labels) > 0.9


@pytest.mark.parametrize(
    ("build", "terms"),
    [
        (deep_infomax, {"global", "local", "prior"}),
        (latent_variable_model, {"encoder_samples", "decoder_samples"}),
        (two_view_model, {"bound"}),
    ],
)
def test_every_model_gives_its_loss_codes_and_detached_terms(build, terms):
    model = build()
    rows, _ = clusters(n_samples=16)
    loss = model.loss(rows)
    assert loss.total.shape == () and loss.total.requires_grad
    assert loss.codes.shape[0] == 16
    assert set(loss.terms) == terms
    assert not any(value.requires_grad for value in loss.terms.values())
    adversary = set(map(id, model.adversary.parameters())) if model.adversary else set()
    main = set(map(id, model.main_parameters()))
    assert main.isdisjoint(adversary)
    assert main | adversary == set(map(id, model.parameters()))


def test_two_views_and_occlusion_run_inside_the_module():
    torch.manual_seed(0)
    images = torch.rand(8, 1, 16, 16)
    model = DeepInfoMax(
        ConvEncoder(1, (16, 16), 4, width=8),
        "infonce",
        critic_width=16,
        gamma=0.0,
        augmentation=lambda batch: batch + 0.1 * torch.randn_like(batch),
        occlusion=lambda batch: batch * (torch.rand_like(batch) > 0.2),
    )
    loss = model.loss(images)
    assert loss.total.shape == () and torch.isfinite(loss.total)
    assert loss.codes.shape == (16, 4)  # both views
    assert model.adversary is None
    with pytest.raises(ValueError, match="no prior discriminator"):
        model.adversary_loss(loss.codes)


def test_the_module_refuses_terms_its_encoder_cannot_serve():
    global_only = ModuleEncoder(torch.nn.Linear(10, 4), (10,), n_components=4)
    with pytest.raises(ValueError, match="Linear returns only global vectors"):
        DeepInfoMax(global_only)
    with pytest.raises(ValueError, match="MLPEncoder has no local feature map"):
        DeepInfoMax(MLPEncoder(10, 4, (8,)), coordinate_weight=1.0)


@pytest.mark.parametrize(
    ("estimator", "model_class"),
    [
        (DeepInfoMaxTransformer(n_components=3), DeepInfoMax),
        (MutualInformationMachine(n_components=3), LatentVariableModel),
        (TwoViewInfoMax(n_components=3, views=SplitColumns()), TwoViewModel),
    ],
    ids=["DeepInfoMax", "LatentVariableModel", "TwoViewModel"],
)
def test_each_estimator_trains_and_keeps_its_model(estimator, model_class):
    X = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
    fitted = estimator.set_params(max_epochs=1, batch_size=32, random_state=0)
    fitted.fit(X)
    model = fitted.net_.module_
    assert type(model) is model_class
    np.testing.assert_allclose(
        codes_of(model, torch.from_numpy(X)), fitted.transform(X), rtol=1e-5, atol=1e-6
    )
