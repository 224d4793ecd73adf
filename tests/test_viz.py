import matplotlib.pyplot as plt
import pytest
import torch

from genlab.train import History
from genlab.viz import plot_history, show_images


def test_plot_history_draws_one_line_per_metric():
    h = History([{"epoch": 1, "loss": 2.0, "acc": 0.5}, {"epoch": 2, "loss": 1.0, "acc": 0.7}])
    ax = plot_history(h)
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "acc"]
    with pytest.raises(ValueError, match="no \\['nope'\\]"):
        plot_history(h, ["nope"])
    plt.close("all")


def test_show_images_accepts_the_usual_layouts():
    for images in (torch.rand(5, 8, 8), torch.rand(5, 1, 8, 8), torch.rand(5, 3, 8, 8)):
        fig = show_images(images, ncols=3)
        assert len([ax for ax in fig.axes if ax.images]) == 5
    with pytest.raises(ValueError, match="titles"):
        show_images(torch.rand(2, 8, 8), titles=["a"])
    with pytest.raises(ValueError, match="shape"):
        show_images(torch.rand(8, 8))
    plt.close("all")
