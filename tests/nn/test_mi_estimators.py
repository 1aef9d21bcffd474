import math

import numpy as np
import pytest
import torch

from sk_dim.nn.bounds import (
    dv_bound,
    infonce_bound,
    jsd_bound,
    nwj_bound,
    second_order_mi,
)
from sk_dim.nn.critics import SeparableCritic
from sk_dim.nn.mi_estimators import (
    DV,
    MI_ESTIMATORS,
    NWJ,
    InfoNCE,
    SecondOrder,
    get_estimator,
)
from sk_dim.nn.objectives import DeepInfoMaxObjective, estimate_mi

#: The estimators that read a (B, B, L) score tensor, as pure functions.
BOUNDS = {"jsd": jsd_bound, "infonce": infonce_bound, "dv": dv_bound, "nwj": nwj_bound}


def _softplus(value: float) -> float:
    return math.log1p(math.exp(-abs(value))) + max(value, 0.0)


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _pairs(scores: np.ndarray):
    """Positive and negative scores, enumerated one by one."""
    batch, _, n_locations = scores.shape
    positives, negatives = [], []
    for a in range(batch):
        for b in range(batch):
            for i in range(n_locations):
                (positives if a == b else negatives).append(float(scores[a, b, i]))
    return positives, negatives


def loop_jsd(scores):
    positives, negatives = _pairs(scores)
    return (
        2 * math.log(2)
        - sum(_softplus(-u) for u in positives) / len(positives)
        - sum(_softplus(u) for u in negatives) / len(negatives)
    )


def loop_dv(scores):
    positives, negatives = _pairs(scores)
    return sum(positives) / len(positives) - (
        _logsumexp(negatives) - math.log(len(negatives))
    )


def loop_nwj(scores):
    positives, negatives = _pairs(scores)
    return sum(positives) / len(positives) - math.exp(-1) * sum(
        math.exp(u) for u in negatives
    ) / len(negatives)


def loop_infonce(scores):
    batch, _, n_locations = scores.shape
    terms = []
    for a in range(batch):
        negatives = [
            float(scores[a, b, j])
            for b in range(batch)
            if b != a
            for j in range(n_locations)
        ]
        for i in range(n_locations):
            logits = [float(scores[a, a, i]), *negatives]
            terms.append(logits[0] - _logsumexp(logits) + math.log(len(logits)))
    return sum(terms) / len(terms)


REFERENCES = {"jsd": loop_jsd, "dv": loop_dv, "infonce": loop_infonce, "nwj": loop_nwj}


@pytest.mark.parametrize("name", sorted(BOUNDS))
@pytest.mark.parametrize("shape", [(2, 2, 1), (5, 5, 1), (4, 4, 7)])
def test_matches_loop_reference(name, shape):
    generator = torch.Generator().manual_seed(0)
    scores = 3 * torch.randn(shape, generator=generator, dtype=torch.float64)
    expected = REFERENCES[name](scores.numpy())
    assert BOUNDS[name](scores).item() == pytest.approx(expected, rel=1e-9)
    assert MI_ESTIMATORS[name]()(scores).item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", ["jsd", "infonce", "dv"])
def test_gradients_are_finite_for_extreme_scores(name):
    scores = torch.tensor([[[1e4], [-1e4]], [[-1e4], [1e4]]], requires_grad=True)
    BOUNDS[name](scores).backward()
    assert torch.isfinite(scores.grad).all()


def gaussian_log_ratio_scores(rho: float, dim: int, batch: int, seed: int = 0):
    """Scores of the optimal critic, log p(x, y) / (p(x) p(y)), for all pairs.

    ``dim`` independent pairs of standard normals with correlation ``rho``,
    whose mutual information is ``-dim / 2 * log(1 - rho^2)``.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    noise = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * noise
    xa, yb = x[:, None, :], y[None, :, :]  # (B, 1, d), (1, B, d)
    log_ratio = (
        -0.5 * math.log(1 - rho**2)
        - (xa**2 - 2 * rho * xa * yb + yb**2) / (2 * (1 - rho**2))
        + (xa**2 + yb**2) / 2
    ).sum(-1)
    true_mi = -dim / 2 * math.log(1 - rho**2)
    return log_ratio.unsqueeze(-1), true_mi  # (B, B, 1)


@pytest.mark.parametrize("dim", [1, 5])
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_bounds_with_optimal_critic_on_gaussians(dim, rho):
    batch = 512
    scores, true_mi = gaussian_log_ratio_scores(rho, dim, batch)
    if true_mi > 3:
        pytest.skip("DV needs far more than 512 samples beyond 3 nats")
    dv = dv_bound(scores).item()
    assert dv == pytest.approx(true_mi, abs=0.1 + 0.1 * true_mi)
    infonce = infonce_bound(scores).item()
    assert infonce <= math.log(batch) + 1e-9
    assert infonce == pytest.approx(true_mi, abs=0.1 + 0.1 * true_mi)


def test_infonce_saturates_at_log_batch_size():
    batch = 32
    scores, true_mi = gaussian_log_ratio_scores(0.999, 20, batch)
    assert true_mi > 2 * math.log(batch)
    infonce = infonce_bound(scores).item()
    assert math.log(batch) - 0.05 < infonce <= math.log(batch)


def test_jsd_grows_with_dependence_and_is_bounded():
    values = [
        jsd_bound(gaussian_log_ratio_scores(rho, 2, 256)[0]).item()
        for rho in (0.0, 0.5, 0.9, 0.99)
    ]
    assert values == sorted(values)
    assert abs(values[0]) < 0.05
    assert values[-1] < 2 * math.log(2)


def test_independent_variables_give_about_zero():
    scores, true_mi = gaussian_log_ratio_scores(0.0, 3, 512)
    assert true_mi == 0
    for name in ("dv", "infonce"):
        assert abs(BOUNDS[name](scores).item()) < 0.05
    assert abs(nwj_bound(scores + 1).item()) < 0.05


def test_needs_two_samples_and_square_scores():
    with pytest.raises(ValueError, match="at least 2 samples"):
        jsd_bound(torch.zeros(1, 1, 3))
    with pytest.raises(ValueError, match=r"shape \(B, B, L\)"):
        dv_bound(torch.zeros(2, 3, 1))


def test_get_estimator():
    assert isinstance(get_estimator("infonce"), InfoNCE)
    assert isinstance(get_estimator(NWJ), NWJ)
    assert get_estimator(dv_bound) is dv_bound
    mine = DV(moving_average=0.05)
    resolved = get_estimator(mine)
    assert resolved is not mine and resolved.moving_average == 0.05
    with pytest.raises(ValueError, match="Unknown mi_estimator 'mine'.*'dv'"):
        get_estimator("mine")


@pytest.mark.parametrize("dim", [1, 5])
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_nwj_with_its_optimal_critic_on_gaussians(dim, rho):
    scores, true_mi = gaussian_log_ratio_scores(rho, dim, 512)
    if true_mi > 3:
        pytest.skip("NWJ needs far more than 512 samples beyond 3 nats")
    assert nwj_bound(scores + 1).item() == pytest.approx(
        true_mi, abs=0.1 + 0.1 * true_mi
    )


@pytest.mark.parametrize("dim", [1, 2, 5])
@pytest.mark.parametrize("name", ["infonce", "dv", "nwj"])
def test_bounds_stay_below_the_true_value_for_any_critic(name, dim):
    """Shifted and scaled versions of the optimal critic give lower values.

    Up to 2.6 nats here: beyond, the sample means of exp(u) in DV and NWJ are
    dominated by rare pairs and single batches can land above the truth.
    """
    scores, true_mi = gaussian_log_ratio_scores(0.8, dim, 2048, seed=1)
    shift = 1 if name == "nwj" else 0
    for scale in (0.5, 1.0, 2.0):
        value = BOUNDS[name](scale * scores + shift).item()
        assert value <= true_mi + 0.05


def test_dv_moving_average_keeps_the_value_and_corrects_the_gradient():
    rate = 0.1
    estimator = DV(moving_average=rate)
    generator = torch.Generator().manual_seed(0)
    first = torch.randn(6, 6, 2, generator=generator, dtype=torch.float64)
    second = torch.randn(6, 6, 2, generator=generator, dtype=torch.float64) + 1
    estimator(first.requires_grad_())
    scores = second.clone().requires_grad_()
    value = estimator(scores)
    assert value.item() == pytest.approx(dv_bound(second).item(), rel=1e-12)
    value.backward()

    def mean_exp_negatives(values):
        _, negatives = _pairs(values.detach().numpy())
        return sum(math.exp(u) for u in negatives) / len(negatives)

    running = (1 - rate) * mean_exp_negatives(first) + rate * mean_exp_negatives(second)
    reference = second.clone().requires_grad_()
    eye = torch.eye(6, dtype=torch.bool)[:, :, None].expand(-1, -1, 2)
    positive_mean = reference[eye].mean()
    negative_mean_exp = reference[~eye].exp().mean()
    (positive_mean - negative_mean_exp / running).backward()
    torch.testing.assert_close(scores.grad, reference.grad)
    assert math.exp(estimator.log_running_mean.item()) == pytest.approx(running)


def test_dv_moving_average_is_kept_per_term_when_both_terms_train():
    torch.manual_seed(0)
    objective = DeepInfoMaxObjective(
        DV(moving_average=0.5),
        "encode_and_dot",
        local_channels=4,
        local_size=(3, 3),
        n_components=2,
        alpha=1.0,
        beta=1.0,
        embedding_dim=8,
        critic_width=8,
    )
    assert objective.global_estimator is not objective.local_estimator
    local_map = torch.randn(5, 4, 3, 3, requires_grad=True)
    global_vector = torch.randn(5, 2, requires_grad=True)
    objective(local_map, global_vector)[0].backward()
    # each running mean is that of its own term's scores alone
    for term, features in (
        ("global", local_map.flatten(1).unsqueeze(1)),
        ("local", local_map.flatten(2).transpose(1, 2)),
    ):
        alone = DV(moving_average=0.5)
        critic = getattr(objective, f"{term}_critic")
        estimate_mi(alone, critic, features, global_vector)
        running = getattr(objective, f"{term}_estimator").log_running_mean
        torch.testing.assert_close(running, alone.log_running_mean)
    assert objective.global_estimator.log_running_mean != (
        objective.local_estimator.log_running_mean
    )


def test_dv_moving_average_is_validated():
    with pytest.raises(ValueError, match=r"moving_average must be in \(0, 1\]"):
        DV(moving_average=1.5)


def correlated_gaussians(rho: float, dim: int, n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    noise = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    return x, rho * x + math.sqrt(1 - rho**2) * noise


@pytest.mark.parametrize("dim", [1, 5, 20])
@pytest.mark.parametrize("rho", [0.3, 0.9, 0.99])
def test_second_order_is_near_exact_on_gaussians(dim, rho):
    x, y = correlated_gaussians(rho, dim, 20_000)
    true_mi = -dim / 2 * math.log(1 - rho**2)
    estimate = second_order_mi(x, y, ridge=0.0).item()
    assert estimate == pytest.approx(true_mi, rel=0.03, abs=0.01 * dim)


def test_second_order_matches_canonical_correlations():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(500, 4, generator=generator, dtype=torch.float64)
    y = x @ torch.randn(4, 3, generator=generator, dtype=torch.float64)
    y = y + torch.randn(500, 3, generator=generator, dtype=torch.float64)
    xc, yc = (x - x.mean(0)).numpy(), (y - y.mean(0)).numpy()
    qx, qy = np.linalg.qr(xc)[0], np.linalg.qr(yc)[0]
    rhos = np.linalg.svd(qx.T @ qy, compute_uv=False)
    expected = -0.5 * np.log(1 - rhos**2).sum()
    plug_in = second_order_mi(x, y, ridge=0.0, bias_correction=False)
    assert plug_in.item() == pytest.approx(expected, rel=1e-9)


def test_second_order_ignores_invertible_linear_maps_and_checks_shapes():
    x, y = correlated_gaussians(0.7, 3, 2000)
    mixing = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, -3.0]])
    mixed = x @ mixing.double()
    assert second_order_mi(mixed, y, ridge=0.0).item() == pytest.approx(
        second_order_mi(x, y, ridge=0.0).item(), rel=1e-9
    )
    assert isinstance(SecondOrder()(x.float(), y.float()), torch.Tensor)
    with pytest.raises(ValueError, match="same N"):
        second_order_mi(x, y[:10])
    with pytest.raises(ValueError, match="at least 7 samples .* 3 and 3 dim.* got 6"):
        second_order_mi(x[:6], y[:6])


@pytest.mark.parametrize("true_mi", [0.0, 5.0])
def test_second_order_bias_correction_is_unbiased_on_small_batches(true_mi):
    dim, n = 20, 128
    rho = math.sqrt(1 - math.exp(-2 * true_mi / dim))
    corrected, plug_in = [], []
    for seed in range(40):
        x, y = correlated_gaussians(rho, dim, n, seed=seed)
        corrected.append(second_order_mi(x, y, ridge=0.0).item())
        plug_in.append(second_order_mi(x, y, ridge=0.0, bias_correction=False).item())
    assert np.mean(corrected) == pytest.approx(true_mi, abs=0.1)
    assert np.mean(plug_in) - true_mi > 1.5  # about dim^2 / (2 n) = 1.56


@pytest.mark.parametrize("name", sorted(MI_ESTIMATORS))
def test_each_bound_increases_when_a_small_critic_is_trained(name):
    torch.manual_seed(0)
    critic = SeparableCritic(2, 2, embedding_dim=8, hidden_features=32)
    estimator = MI_ESTIMATORS[name]()
    optimizer = torch.optim.Adam(critic.parameters(), lr=3e-3)

    def estimate(x, y):
        return estimate_mi(estimator, critic, x[:, None], y)

    held_out = [t.float() for t in correlated_gaussians(0.8, 2, 256, seed=99)]
    with torch.no_grad():
        before = estimate(*held_out).item()
    for step in range(300):
        x, y = (t.float() for t in correlated_gaussians(0.8, 2, 128, seed=step))
        loss = -estimate(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = estimate(*held_out).item()
    true_mi = -math.log(1 - 0.8**2)  # 1.02 nats
    assert after > before + 0.2
    assert after > 0.5 * (true_mi if name != "jsd" else 0.3)


@pytest.mark.parametrize("positive", [1e6, float("inf")])
def test_jsd_is_exact_at_extreme_positive_scores(positive):
    scores = torch.full((4, 4, 2), -5.0)
    scores[range(4), range(4)] = positive
    expected = 2 * math.log(2) - 0.0 - _softplus(-5.0)  # softplus(-positive) = 0
    assert float(jsd_bound(scores)) == pytest.approx(expected, rel=1e-6)


def test_estimate_mi_keeps_the_precision_of_float64_inputs():
    from sk_dim.nn.critics import DotCritic

    rows = torch.randn(16, 3, dtype=torch.float64)
    critic = DotCritic(3, 3).double()
    value = estimate_mi(InfoNCE(), critic, rows[:, None], rows)
    assert value.dtype == torch.float64
    scores = critic(rows[:, None], rows)  # (B, B, 1) in float64
    torch.testing.assert_close(value, infonce_bound(scores), rtol=1e-12, atol=0)


def test_two_views_move_the_running_mean_of_dv_once_a_step():
    from sk_dim.nn import DeepInfoMax
    from sk_dim.nn.encoders import MLPEncoder

    model = DeepInfoMax(
        MLPEncoder(6, 4, (8,)),
        DV(moving_average=0.5),
        gamma=0.0,
        augmentation=lambda rows: rows + 0.1 * torch.randn_like(rows),
    )
    model.loss(torch.randn(8, 6))
    assert int(model.objective.local_estimator.n_updates) == 1
    assert model.objective.local_estimator.updates_running_mean  # restored
