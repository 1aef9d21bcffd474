import math

import pytest
import torch

from sk_dim.nn.critics import (
    CRITICS,
    BilinearCritic,
    ConcatCritic,
    DotCritic,
    SeparableCritic,
    make_critic,
)


def pair_score(critic, global_vector, local_feature):
    """The score of one (global vector, local feature) pair, computed alone."""
    if isinstance(critic, ConcatCritic):
        joint = torch.cat([global_vector, local_feature])
        weight = torch.cat(
            [critic.global_layer.weight, critic.local_layer.weight], dim=1
        )
        hidden = torch.relu(weight @ joint + critic.local_layer.bias)
        for layer in critic.deeper_layers:
            hidden = layer(hidden)
        return critic.output(hidden)[0]
    if isinstance(critic, BilinearCritic):
        weight = critic.weight.weight  # (D, C)
        return global_vector @ weight @ local_feature / math.sqrt(len(global_vector))
    if isinstance(critic, DotCritic):
        return global_vector @ local_feature / math.sqrt(len(global_vector))
    g = critic.global_head(global_vector[None])[0]
    local = critic.local_head(local_feature[None])[0]
    return g @ local / math.sqrt(len(g))


@pytest.mark.parametrize("name", sorted(CRITICS))
def test_every_critic_matches_a_loop_over_pairs(name):
    torch.manual_seed(0)
    channels = 3 if name == "dot" else 5
    critic = make_critic(name, channels, 3, embedding_dim=4, hidden_features=6).eval()
    local_features, global_vectors = torch.randn(3, 7, channels), torch.randn(3, 3)
    scores = critic(local_features, global_vectors)
    assert scores.shape == (3, 3, 7)
    for a in range(3):
        for b in range(3):
            for i in range(7):
                expected = pair_score(critic, global_vectors[a], local_features[b, i])
                torch.testing.assert_close(scores[a, b, i], expected)


@pytest.mark.parametrize(
    "name", sorted(set(CRITICS) - {"concat", "concat_and_convolve"})
)
def test_embeddings_give_the_scores(name):
    channels = 3 if name == "dot" else 5
    critic = make_critic(name, channels, 3, embedding_dim=4, hidden_features=6).eval()
    local_features, global_vectors = torch.randn(2, 4, channels), torch.randn(2, 3)
    local_embedding, global_embedding = critic.embed(local_features, global_vectors)
    scale = global_embedding.shape[1] ** -0.5
    expected = torch.einsum("ae,ble->abl", global_embedding, local_embedding) * scale
    torch.testing.assert_close(critic(local_features, global_vectors), expected)


def test_dot_critic_needs_equal_sizes():
    with pytest.raises(ValueError, match="same size.*5 \\(local\\) and 3 \\(global\\)"):
        DotCritic(5, 3)


def test_make_critic_by_name_class_and_instance():
    assert isinstance(make_critic("separable", 4, 2, 8, 16), SeparableCritic)
    assert isinstance(make_critic(BilinearCritic, 4, 2, 8, 16), BilinearCritic)
    instance = ConcatCritic(4, 2, hidden_features=16)
    copied = make_critic(instance, 4, 2, 8, 16)
    assert copied is not instance
    torch.testing.assert_close(
        copied.output.weight, instance.output.weight, rtol=0, atol=0
    )
    with pytest.raises(ValueError, match="Unknown critic 'mlp'.*'bilinear'"):
        make_critic("mlp", 4, 2, 8, 16)


def test_concat_and_convolve_is_a_two_layer_concat_critic():
    critic = make_critic("concat_and_convolve", 4, 2, 8, 16)
    assert isinstance(critic, ConcatCritic)
    linear_layers = [m for m in critic.modules() if isinstance(m, torch.nn.Linear)]
    # both sides' first layer, the second hidden layer and the output
    assert [m.out_features for m in linear_layers] == [16, 16, 16, 1]
