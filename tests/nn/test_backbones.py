"""A backbone's named layers as Deep InfoMax's encoder."""

import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from sk_dim import DeepInfoMaxTransformer
from sk_dim.nn.encoders.backbones import BackboneEncoder


def small_classifier() -> nn.Module:
    """A ResNet-shaped classifier: stem, two stages, pooling, logits."""
    torch.manual_seed(0)
    return nn.Sequential(
        OrderedDict(
            stem=nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)),
            layer1=nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU()),
            layer2=nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU()),
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(32, 10),
        )
    )


def test_the_named_layers_give_the_local_map_and_the_global_features():
    backbone = small_classifier()
    encoder = BackboneEncoder(backbone, "layer1", (3, 16, 16), 6, "layer2")
    assert backbone.training  # measuring it left its mode alone
    images = torch.rand(4, 3, 16, 16)
    encoder.eval()
    with torch.no_grad():
        local_map, global_vector = encoder(images)
        stage1 = backbone.layer1(backbone.stem(images))
        pooled = backbone.layer2(stage1).mean(dim=(2, 3))
    torch.testing.assert_close(local_map, stage1)
    torch.testing.assert_close(global_vector, encoder.head(pooled))
    assert (encoder.local_channels, encoder.local_size) == (16, (8, 8))
    assert encoder.feature_sizes == {"local": 16 * 8 * 8, "fc": 32, "global": 6}
    assert not backbone.layer1._forward_hooks  # no hook stays behind
    logits = BackboneEncoder(backbone, "layer1", (3, 16, 16), 6)  # global: output
    assert logits.feature_sizes["fc"] == 10


def test_deep_infomax_trains_a_backbone_and_reads_its_taps():
    images = np.random.default_rng(0).integers(0, 256, (96, 3, 16, 16), np.uint8)
    encoder = BackboneEncoder(small_classifier(), "layer1", (3, 16, 16), 8, "layer2")
    dim = DeepInfoMaxTransformer(
        8, encoder=encoder, critic_width=16, batch_size=32, max_epochs=2
    ).fit(images)
    assert dim.transform(images).shape == (96, 8)
    assert dim.set_params(layer="fc").transform(images).shape == (96, 32)
    assert dim.set_params(layer="local").transform(images).shape == (96, 1024)
    restored = pickle.loads(pickle.dumps(dim))
    np.testing.assert_array_equal(restored.transform(images), dim.transform(images))
    trained = dim.net_.module_.encoder.encoder.module.backbone
    assert not torch.equal(trained.stem[0].weight, encoder.backbone.stem[0].weight)


def test_names_that_are_not_layers_are_refused():
    with pytest.raises(ValueError, match="local_layer='layer9' is not a layer of"):
        BackboneEncoder(small_classifier(), "layer9", (3, 16, 16), 4)
    with pytest.raises(ValueError, match="must give a \\(B, C, H, W\\) map"):
        BackboneEncoder(small_classifier(), "fc", (3, 16, 16), 4)


def test_a_torchvision_resnet():
    models = pytest.importorskip("torchvision.models")
    encoder = BackboneEncoder(models.resnet18(), "layer2", (3, 32, 32), 64, "avgpool")
    assert (encoder.local_channels, encoder.local_size) == (128, (4, 4))
    assert encoder.feature_sizes["fc"] == 512
