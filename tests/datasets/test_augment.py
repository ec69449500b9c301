from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cords_tune.datasets.augment import CROP_PADDING, augment_batch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _batch(n: int = 64, c: int = 3, h: int = 12, w: int = 10, device: str = "cpu") -> torch.Tensor:
    # Strictly positive, all-distinct values: no window or mirror image can match by accident.
    return torch.randperm(n * c * h * w, device=device).reshape(n, c, h, w).float() + 1


def _gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("augmentations", [(), ("crop",), ("flip",), ("crop", "flip"), ("flip", "crop")])
def test_shape_dtype_and_device_are_kept(device: str, augmentations: tuple[str, ...]) -> None:
    x = _batch(device=device)
    out = augment_batch(x, augmentations, _gen(0, device))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device


def test_no_augmentation_returns_the_batch_itself() -> None:
    x = _batch()
    assert augment_batch(x, ()) is x


@pytest.mark.parametrize("device", DEVICES)
def test_flip_mirrors_about_half_of_the_samples(device: str) -> None:
    x = _batch(n=400, device=device)
    out = augment_batch(x, ["flip"], _gen(1, device))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same ^ mirrored).all()), "every sample is either unchanged or mirrored left-right"
    assert 150 < int(mirrored.sum()) < 250


@pytest.mark.parametrize("device", DEVICES)
def test_crop_is_a_shifted_window_of_the_zero_padded_image(device: str) -> None:
    x = _batch(n=100, device=device)
    out = augment_batch(x, ["crop"], _gen(2, device)).cpu()
    padded = F.pad(x.cpu(), [CROP_PADDING] * 4)
    h, w = x.shape[-2:]
    offsets = []
    for i in range(len(x)):
        found = [
            (dy, dx)
            for dy in range(2 * CROP_PADDING + 1)
            for dx in range(2 * CROP_PADDING + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + h, dx : dx + w])
        ]
        assert len(found) == 1, f"sample {i} is not a window of its padded image"
        offsets.append(found[0])
    assert len(set(offsets)) > 20, "windows should be drawn at many offsets"
    assert {dy for dy, _ in offsets} == set(range(2 * CROP_PADDING + 1))


def test_same_generator_state_gives_the_same_batch() -> None:
    x = _batch()
    a = augment_batch(x, ["crop", "flip"], _gen(7))
    b = augment_batch(x, ["crop", "flip"], _gen(7))
    c = augment_batch(x, ["crop", "flip"], _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_unknown_augmentation_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown augmentation 'rotate'. Choose from: crop, flip"):
        augment_batch(_batch(), ["flip", "rotate"])


def test_non_image_batch_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        augment_batch(torch.zeros(4, 40), ["flip"])
