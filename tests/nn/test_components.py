import pytest
import torch

from sk_dim.nn.critics import EncodeAndDotCritic
from sk_dim.nn.encoders import (
    AlexNetEncoder,
    ConvEncoder,
    MLPEncoder,
    ModuleEncoder,
    ResNetEncoder,
)
from sk_dim.nn.prior import (
    PriorDiscriminator,
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)

from ..conftest import ks_to_uniform


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


@pytest.mark.parametrize(
    ("encoder_class", "size", "local_shape", "conv_size"),
    [
        (ResNetEncoder, 28, (128, 7, 7), 256 * 4 * 4),
        (ResNetEncoder, 16, (64, 8, 8), 128 * 4 * 4),
        (AlexNetEncoder, 64, (384, 15, 15), 192 * 7 * 7),
        (AlexNetEncoder, 16, (384, 3, 3), 192),
    ],
)
def test_resnet_and_alexnet_sizes(encoder_class, size, local_shape, conv_size):
    encoder = encoder_class(3, (size, size), n_components=16)
    taps = encoder.features(torch.zeros(2, 3, size, size))
    assert taps["local"].shape == (2, *local_shape)
    assert taps["conv"][0].numel() == encoder.feature_sizes["conv"] == conv_size
    assert taps["global"].shape == (2, 16)
    assert (encoder.local_channels, *encoder.local_size) == local_shape
    local_map, _ = encoder(torch.zeros(2, 3, size, size))
    torch.testing.assert_close(local_map, taps["local"])
    assert encoder.training  # measuring the taps left the mode as it was


@pytest.mark.parametrize(
    ("encoder_class", "minimum"),
    [(ConvEncoder, 8), (ResNetEncoder, 8), (AlexNetEncoder, 16)],
)
def test_image_encoders_refuse_images_below_their_minimum(encoder_class, minimum):
    with pytest.raises(ValueError, match=f"at least {minimum}x{minimum} pixels"):
        encoder_class(1, (minimum - 1, 32), n_components=4)


@pytest.mark.parametrize("encoder_class", [ConvEncoder, ResNetEncoder])
@pytest.mark.parametrize("width", [16, 96])
def test_encoder_width_sets_the_channels_of_every_stage(encoder_class, width):
    encoder = encoder_class(3, (32, 32), n_components=8, width=width)
    taps = encoder.features(torch.zeros(2, 3, 32, 32))
    assert taps["local"].shape == (2, 2 * width, 8, 8)
    assert taps["conv"].shape == (2, 4 * width, 4, 4)
    assert encoder.feature_sizes["conv"] == 4 * width * 16


def test_encoder_width_must_be_positive():
    with pytest.raises(ValueError, match="width must be a positive number"):
        ConvEncoder(3, (32, 32), n_components=8, width=0)


def test_residual_block_has_a_shortcut():
    encoder = ResNetEncoder(1, (16, 16), n_components=4)
    block = encoder.local_layers[-1]
    torch.nn.init.zeros_(block.residual[-1].weight)  # residual branch silenced
    block.eval()
    inputs = torch.randn(2, 32, 16, 16)
    torch.testing.assert_close(block(inputs), torch.relu(block.shortcut(inputs)))


class PairEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.head = torch.nn.Linear(6, 5)

    def forward(self, images):
        local_map = self.conv(images)
        return local_map, self.head(local_map.mean(dim=(2, 3)))


def test_module_encoder_with_a_local_map():
    encoder = ModuleEncoder(PairEncoder(), (3, 8, 8), n_components=5)
    assert encoder.has_local_map
    assert (encoder.local_channels, encoder.local_size) == (6, (4, 4))
    assert encoder.feature_sizes == {"local": 96, "global": 5}
    taps = encoder.features(torch.zeros(2, 3, 8, 8))
    assert taps["local"].shape == (2, 6, 4, 4)


def test_module_encoder_of_vectors_uses_the_input_as_map():
    encoder = ModuleEncoder(torch.nn.Linear(10, 4), (10,), n_components=4)
    rows = torch.randn(3, 10)
    local_map, global_vector = encoder(rows)
    torch.testing.assert_close(local_map, rows[:, :, None, None])
    assert global_vector.shape == (3, 4)
    assert (encoder.local_channels, encoder.local_size) == (10, (1, 1))
    assert list(encoder.features(rows)) == ["global"]


class ThreeOutputs(torch.nn.Module):
    def forward(self, rows):
        return rows, rows, rows


@pytest.mark.parametrize(
    ("module", "match"),
    [
        (torch.nn.Linear(10, 3), r"returns global vectors of 3 values, but n_comp"),
        (torch.nn.Linear(7, 4), r"failed on a batch of shape \(2, 10\): Runtime"),
        (ThreeOutputs(), r"got a tuple of a tensor of shape \(2, 10\), a tensor"),
        (torch.nn.Flatten(0), r"must return .*got a tensor of shape \(20,\)"),
    ],
)
def test_module_encoder_refuses_bad_modules(module, match):
    with pytest.raises(ValueError, match=match):
        ModuleEncoder(module, (10,), n_components=4)


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


def test_one_registry_names_the_encoders_of_every_model():
    from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine
    from sk_dim.nn.encoders import ENCODERS, build_encoder

    for estimator in (DeepInfoMaxTransformer, MutualInformationMachine):
        (names, *_) = estimator._parameter_constraints["encoder"]
        assert names.options == {"auto", *ENCODERS}
    assert all(encoder.has_local_map for encoder in ENCODERS.values())
    rows = build_encoder("mlp", (3, 4), 5, hidden_layer_sizes=(8,))
    assert rows(torch.zeros(2, 12))[1].shape == (2, 5)
    with pytest.raises(ValueError, match="encoder='resnet' needs images"):
        build_encoder("resnet", (12,), 5)
