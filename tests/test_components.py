import pytest
import torch

from sk_dim.critics import EncodeAndDotCritic
from sk_dim.encoders import ConvEncoder, MLPEncoder
from sk_dim.prior import (
    PriorDiscriminator,
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)

from .conftest import ks_to_uniform


@pytest.mark.parametrize(
    ("channels", "size", "local_shape"),
    [
        (1, 28, (128, 7, 7)),
        (3, 32, (128, 8, 8)),
        (3, 64, (256, 8, 8)),
        (1, 8, (64, 4, 4)),
    ],
)
def test_conv_encoder_sizes(channels, size, local_shape):
    encoder = ConvEncoder(channels, (size, size), n_components=64)
    local_map, global_vector = encoder(torch.zeros(2, channels, size, size))
    assert local_map.shape == (2, *local_shape)
    assert global_vector.shape == (2, 64)
    assert (encoder.local_channels, *encoder.local_size) == local_shape


def test_conv_encoder_refuses_tiny_images():
    with pytest.raises(ValueError, match="at least 8x8"):
        ConvEncoder(1, (6, 12), n_components=4)


def test_mlp_encoder_shapes():
    encoder = MLPEncoder(10, 3, hidden_layer_sizes=(16, 8))
    local_map, global_vector = encoder(torch.zeros(4, 10))
    assert local_map.shape == (4, 16, 1, 1)
    assert global_vector.shape == (4, 3)


def test_encode_and_dot_critic_matches_a_loop():
    torch.manual_seed(0)
    critic = EncodeAndDotCritic(5, 3, embedding_dim=4, hidden_features=6).eval()
    local_features, global_vectors = torch.randn(3, 7, 5), torch.randn(3, 3)
    scores = critic(local_features, global_vectors)
    assert scores.shape == (3, 3, 7)
    for a in range(3):
        for b in range(3):
            for i in range(7):
                g = critic.global_head(global_vectors[a : a + 1])[0]
                local = critic.local_head(local_features[b, i : i + 1])[0]
                expected = (g * local).sum() / 2.0  # scaled by 1 / sqrt(4)
                torch.testing.assert_close(scores[a, b, i], expected)


def test_prior_samples_and_space():
    like = torch.zeros(1000, 3)
    uniform = sample_prior("uniform", like)
    assert uniform.min() >= 0 and uniform.max() <= 1
    gaussian = sample_prior("gaussian", like)
    assert abs(gaussian.std().item() - 1) < 0.1
    vector = torch.tensor([[-50.0, 0.0, 50.0]])
    torch.testing.assert_close(
        to_prior_space(vector, "uniform"), torch.tensor([[0.0, 0.5, 1.0]])
    )
    assert to_prior_space(vector, "gaussian") is vector


def test_adversarial_game_pulls_samples_toward_the_prior():
    """Encoder and discriminator play opposite sides: the encoded law moves."""
    torch.manual_seed(0)
    latent = torch.nn.Parameter(torch.randn(256, 2) + 3.0)  # sigmoid near 1
    discriminator = PriorDiscriminator(2)
    latent_opt = torch.optim.Adam([latent], lr=2e-2, betas=(0.5, 0.999))
    disc_opt = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    before = ks_to_uniform(torch.sigmoid(latent).detach().numpy())
    for _ in range(400):
        encoded = to_prior_space(latent, "uniform")
        latent_opt.zero_grad()
        encoder_prior_loss(discriminator, encoded).backward()
        latent_opt.step()
        disc_opt.zero_grad()
        discriminator_loss(
            discriminator, sample_prior("uniform", encoded), encoded.detach()
        ).backward()
        disc_opt.step()
    after = ks_to_uniform(torch.sigmoid(latent).detach().numpy())
    assert before > 0.5
    assert after < 0.25


def test_discriminator_loss_gradient_penalty():
    discriminator = PriorDiscriminator(3)
    prior_samples, encoded = torch.rand(8, 3), torch.rand(8, 3)
    plain = discriminator_loss(discriminator, prior_samples, encoded, 0.0)
    penalised = discriminator_loss(discriminator, prior_samples, encoded, 1.0)
    assert penalised > plain
    penalised.backward()
    assert all(p.grad is not None for p in discriminator.parameters())
