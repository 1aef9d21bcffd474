"""The plain PyTorch DeepInfoMax module, trained in a loop of one's own."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sk_dim import DeepInfoMaxTransformer
from sk_dim.nn import DeepInfoMax
from sk_dim.nn.encoders import ConvEncoder, MLPEncoder, ModuleEncoder


def clusters(n_samples=512, n_classes=4, n_features=20, seed=0):
    """Rows of 4 Gaussian clusters in a random 2-D subspace, in noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(n_classes, size=n_samples)
    centres = 3 * rng.normal(size=(n_classes, 2))
    basis = rng.normal(size=(2, n_features))
    rows = (centres[labels] + 0.3 * rng.normal(size=(n_samples, 2))) @ basis
    rows += rng.normal(size=(n_samples, n_features))
    return torch.as_tensor(rows, dtype=torch.float32), labels


def probe_accuracy(model, rows, labels):
    with torch.no_grad():
        codes = model.eval()(rows)[1].numpy()
    return cross_val_score(LogisticRegression(max_iter=1000), codes, labels).mean()


def test_a_ten_line_pytorch_loop_trains_the_module():
    torch.manual_seed(0)
    rows, labels = clusters()
    model = DeepInfoMax(MLPEncoder(20, 8, hidden_layer_sizes=(64,)), alpha=0.5)
    with torch.no_grad():
        score_before = float(model.eval().score(rows))
    encoder_step = torch.optim.Adam(
        [*model.encoder.parameters(), *model.objective.parameters()], lr=1e-3
    )
    prior_step = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
    model.train()
    for _ in range(30):
        for batch in rows[torch.randperm(len(rows))].split(64):
            loss, global_vector = model.loss(batch)
            encoder_step.zero_grad()
            loss.backward()
            encoder_step.step()
            prior_loss = model.discriminator_loss(global_vector.detach())
            prior_step.zero_grad()
            prior_loss.backward()
            prior_step.step()
    with torch.no_grad():
        assert float(model.eval().score(rows)) > score_before + 0.3
    assert probe_accuracy(model, rows, labels) > 0.9


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
    loss, global_vector = model.loss(images)
    assert loss.shape == () and torch.isfinite(loss)
    assert global_vector.shape == (16, 4)  # both views
    assert model.discriminator is None
    with pytest.raises(ValueError, match="no prior discriminator"):
        model.discriminator_loss(global_vector)


def test_the_module_refuses_terms_its_encoder_cannot_serve():
    global_only = ModuleEncoder(torch.nn.Linear(10, 4), (10,), n_components=4)
    with pytest.raises(ValueError, match="Linear returns only global vectors"):
        DeepInfoMax(global_only)
    with pytest.raises(ValueError, match="MLPEncoder has no local feature map"):
        DeepInfoMax(MLPEncoder(10, 4, (8,)), coordinate_weight=1.0)


def test_the_estimator_trains_and_keeps_a_deep_infomax_module():
    X = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
    dim = DeepInfoMaxTransformer(n_components=3, max_epochs=1, random_state=0).fit(X)
    model = dim.net_.model_
    assert isinstance(model, DeepInfoMax)
    assert model.encoder is dim.net_.module_
    assert model.objective is dim.net_.criterion_
    assert model.discriminator is dim.net_.discriminator_
    with torch.no_grad():
        codes = model.eval()(torch.from_numpy(X))[1].numpy()
    np.testing.assert_allclose(codes, dim.transform(X), rtol=1e-5, atol=1e-6)
