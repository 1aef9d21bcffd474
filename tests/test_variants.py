"""The paper's variants: encoders, global critics, occlusion, coordinates."""

import pickle

import numpy as np
import pytest
import torch

from sk_dim import DeepInfoMaxTransformer
from sk_dim.nn.augmentations import RandomOcclusion
from sk_dim.nn.objectives import CoordinatePredictor, coordinate_loss


def test_coordinate_loss_matches_a_loop():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 5)  # a 2 x 3 map: 2 row and 3 column scores
    expected = 0.0
    for sample in range(2):
        for location in range(6):
            row, col = divmod(location, 3)
            scores = logits[sample, location]
            expected += -torch.log_softmax(scores[:2], 0)[row]
            expected += -torch.log_softmax(scores[2:], 0)[col]
    torch.testing.assert_close(coordinate_loss(logits, 2, 3), expected / 12)


def train_predictor(local_map: torch.Tensor, steps: int = 300) -> float:
    torch.manual_seed(0)
    predictor = CoordinatePredictor(local_map.shape[1], (3, 4), 2, 32)
    optimizer = torch.optim.Adam(predictor.parameters(), lr=1e-2)
    global_vector = torch.randn(len(local_map), 2)
    for _ in range(steps):
        loss = predictor(local_map, global_vector)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def test_coordinate_predictor_learns_positions_only_when_the_map_holds_them():
    torch.manual_seed(0)
    position_code = torch.eye(12).reshape(12, 3, 4)  # one channel per location
    informative = position_code.expand(8, -1, -1, -1) + 0.1 * torch.randn(8, 12, 3, 4)
    uninformative = torch.randn(8, 1, 1, 1).expand(-1, 12, 3, 4)
    chance = np.log(3) + np.log(4)
    assert train_predictor(informative) < 0.05
    assert train_predictor(uninformative) > 0.9 * chance


def test_random_occlusion_fills_one_square_per_image():
    torch.manual_seed(0)
    images = torch.arange(1.0, 1.0 + 4 * 2 * 9 * 7).reshape(4, 2, 9, 7)
    occluded = RandomOcclusion(size=3, fill=-1.0)(images)
    filled = occluded == -1.0
    assert (filled.sum(dim=(2, 3)) == 9).all()  # 3 x 3 in every channel
    assert (filled[:, 0] == filled[:, 1]).all()
    for mask in filled[:, 0]:
        rows, cols = torch.nonzero(mask, as_tuple=True)
        assert rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2
    torch.testing.assert_close(occluded[~filled], images[~filled])


def test_occlusion_computes_y_from_occluded_and_maps_from_full_images(
    small_images, tiny
):
    dim = tiny(occlusion=0.5).fit(small_images)
    model = dim.net_.module_.eval()
    occlude = model.occlusion
    assert occlude.size == 8  # half of 16 pixels
    inputs = torch.from_numpy(small_images[:6])
    with torch.no_grad():
        torch.manual_seed(0)
        local_map, global_vector = model._encode(inputs)
        torch.manual_seed(0)
        occluded = occlude(inputs.float())
        torch.testing.assert_close(local_map, model(inputs)[0])
        torch.testing.assert_close(global_vector, model(occluded)[1])
    # the fill is the mean pixel: zero once standardised
    assert occlude.fill == pytest.approx(127.5)


@pytest.mark.parametrize(
    "params",
    [
        {"occlusion": 0.5, "coordinate_weight": 1.0},
        {"alpha": 1.0, "beta": 0.0, "gamma": 1.0, "critic": "concat_and_convolve"},
        {"alpha": 0.5, "beta": 1.0},
        {"encoder": "resnet", "coordinate_weight": 0.5},
        {"encoder": "alexnet", "augmentation": None},
    ],
    ids=["occlusion+coordinates", "dim-g-concat", "dim-l+g", "resnet", "alexnet"],
)
def test_variants_train_reproducibly(small_images, tiny, params):
    first = tiny(batch_size=20, **params).fit(small_images)
    second = tiny(batch_size=20, **params).fit(small_images)
    Y = first.transform(small_images)
    assert Y.shape == (len(small_images), 8) and np.isfinite(Y).all()
    np.testing.assert_array_equal(Y, second.transform(small_images))
    assert np.isfinite(first.score(small_images))


def test_coordinate_prediction_is_learnt(small_images, tiny):
    dim = tiny(
        coordinate_weight=1.0,
        batch_size=20,
        max_epochs=40,
        gamma=0.0,
        lr_schedule="constant",
        n_iter_no_change=40,
    ).fit(small_images)
    model = dim.net_.module_.eval()
    predictor = model.objective.coordinate_predictor
    with torch.no_grad():
        loss = predictor(*model(torch.from_numpy(small_images)))
    chance = 2 * np.log(8)  # rows and columns of the 8 x 8 map
    assert float(loss) < 0.85 * chance


def test_resnet_taps(small_images, tiny):
    dim = tiny(encoder="resnet", batch_size=20, layer="conv").fit(small_images)
    assert dim.transform(small_images).shape == (len(small_images), 128 * 4 * 4)
    assert type(dim.net_.module_.encoder.encoder).__name__ == "ResNetEncoder"


class VectorEncoder(torch.nn.Module):
    """Rows (B, 64) to vectors (B, 8)."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8)
        )

    def forward(self, rows):
        return self.layers(rows)


class MapEncoder(torch.nn.Module):
    """Images (B, 3, 16, 16) to a (B, 16, 8, 8) map and (B, 8) vectors."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 4, stride=2, padding=1)
        self.head = torch.nn.Linear(16 * 8 * 8, 8)

    def forward(self, images):
        local_map = torch.relu(self.conv(images))
        return local_map, self.head(local_map.flatten(1))


def test_user_encoder_of_vectors_trains_the_global_term(digits, tiny):
    X, _ = digits
    module = VectorEncoder()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match="returns only global vectors, but the local"):
        tiny(encoder=module).fit(X)
    dim = tiny(encoder=module, alpha=1.0, beta=0.0, max_epochs=3).fit(X)
    assert dim.transform(X).shape == (len(X), 8)
    assert dim.loss_curve_[-1] < dim.loss_curve_[0]
    for name, value in module.state_dict().items():  # the user's copy untouched
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"its layers are \['global'\]"):
        dim.set_params(layer="local").transform(X)


def test_user_encoder_with_a_map_trains_the_local_term(small_images, tiny):
    dim = tiny(encoder=MapEncoder(), batch_size=20, max_epochs=3, gamma=0.0)
    dim.fit(small_images)
    assert dim.transform(small_images).shape == (len(small_images), 8)
    assert dim.set_params(layer="local").transform(small_images).shape[1] == 1024
    assert dim.net_.module_.objective.local_critic is not None


def test_user_encoder_of_the_wrong_size_is_refused(digits, tiny):
    X, _ = digits
    with pytest.raises(ValueError, match="global vectors of 8 values, but n_comp"):
        tiny(encoder=VectorEncoder(), n_components=4, beta=0.0, alpha=1.0).fit(X)


def test_variants_that_need_images_or_maps_are_refused_on_rows(digits, tiny):
    X, _ = digits
    with pytest.raises(ValueError, match="occlusion=0.25 needs images"):
        tiny(occlusion=0.25).fit(X)
    with pytest.raises(ValueError, match="MLPEncoder has no local feature map of"):
        tiny(coordinate_weight=1.0).fit(X)
    with pytest.raises(ValueError, match="encoder='resnet' needs images"):
        tiny(encoder="resnet").fit(X)


def test_variant_models_save_load_and_pickle(small_images, tiny, tmp_path):
    dim = tiny(
        encoder="resnet", occlusion=0.25, coordinate_weight=1.0, batch_size=20
    ).fit(small_images)
    expected = dim.transform(small_images)
    loaded = DeepInfoMaxTransformer.load(dim.save(tmp_path / "model"), device="cpu")
    np.testing.assert_array_equal(loaded.transform(small_images), expected)
    unpickled = pickle.loads(pickle.dumps(dim))
    np.testing.assert_array_equal(unpickled.transform(small_images), expected)
    assert unpickled.net_.module_.occlusion.size == 4

    with_module = tiny(encoder=MapEncoder(), batch_size=20).fit(small_images)
    unpickled = pickle.loads(pickle.dumps(with_module))
    np.testing.assert_array_equal(
        unpickled.transform(small_images), with_module.transform(small_images)
    )


def test_a_batch_whose_pairs_cannot_fit_is_refused_before_training(
    small_images, tiny, monkeypatch
):
    from sk_dim._training import engine

    critic = {"critic": "concat", "critic_width": 16, "batch_size": 20}
    model = tiny(**critic)  # 2 views x 400 pairs x 64 locations x 16 units
    needed = 2 * 2 * 20**2 * 64 * 16 * 4
    monkeypatch.setattr(engine, "free_memory", lambda device: needed // 4)
    with pytest.raises(
        ValueError, match=r"batch_size=20, .* batch_size <= 10\. The critic scores"
    ):
        model.fit(small_images)
    assert not hasattr(model, "net_")
    monkeypatch.setattr(engine, "free_memory", lambda device: needed)
    model.fit(small_images)  # fits exactly
    tiny(batch_size=20).fit(small_images)  # encode-and-dot: nothing to check
