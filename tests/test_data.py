import torch

from genlab.data import load_digits


def test_digits_split_is_fixed_stratified_and_disjoint():
    a, b = load_digits(), load_digits()
    assert (len(a.X_train), len(a.X_val), len(a.X_test)) == (1167, 270, 360)
    assert torch.equal(a.X_test, b.X_test) and torch.equal(a.y_train, b.y_train)
    for y in (a.y_train, a.y_val, a.y_test):
        counts = torch.bincount(y, minlength=10).float()
        assert counts.min() / counts.max() > 0.85  # stratified: every class about equally present
    rows = lambda X: {tuple(r.tolist()) for r in X}  # noqa: E731  (the 1,797 images are distinct)
    assert not rows(a.X_test) & rows(a.X_train) and not rows(a.X_test) & rows(a.X_val)
    assert len(rows(a.X_train) | rows(a.X_val) | rows(a.X_test)) == 1797
    assert a.X_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    assert 0.0 <= a.X_train.min() and a.X_train.max() <= 1.0


def test_digits_images_shape():
    d = load_digits(flatten=False)
    assert d.X_train.shape == (1167, 1, 8, 8) and d.num_classes == 10
