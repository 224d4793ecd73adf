import pytest
import torch
import torch.nn.functional as F

from genlab.data import load_digits
from genlab.nn import count_parameters
from genlab.train import History, accuracy, fit, train_step, warmup_cosine


def _loss(model, batch):
    return F.cross_entropy(model(batch[0]), batch[1])


def test_fit_learns_digits_and_records_history():
    d = load_digits()
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    before = accuracy(model, d.X_val, d.y_val)
    history = fit(model, _loss, (d.X_train, d.y_train), num_epochs=8, lr=0.05, progress=False,
                  eval_fn=lambda m: {"val_acc": accuracy(m, d.X_val, d.y_val)})
    assert len(history) == 8 and history["epoch"] == list(range(1, 9))
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.last("val_acc") > 0.9 > before
    assert set(history.as_dict()) == {"epoch", "train_loss", "val_acc", "time"}
    with pytest.raises(KeyError, match="no metric 'nope'"):
        history["nope"]


def test_fit_is_deterministic_given_the_seed():
    d = load_digits()
    losses = []
    for _ in range(2):
        torch.manual_seed(1)
        model = torch.nn.Linear(64, 10)
        losses.append(fit(model, _loss, (d.X_train, d.y_train), num_epochs=2, progress=False, seed=5)["train_loss"])
    assert losses[0] == losses[1]


def test_fit_stops_when_the_time_budget_is_spent():
    X, y = torch.randn(4096, 64), torch.randint(0, 10, (4096,))
    model = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    with pytest.warns(RuntimeWarning, match="stopped by its 0 s time guard after"):
        history = fit(model, _loss, (X, y), num_epochs=10_000, batch_size=8, time_budget=0.3, progress=False)
    assert history.stopped_by_budget and len(history) < 10_000
    assert history.seconds < 5


def test_fit_rejects_bad_arguments_clearly():
    model = torch.nn.Linear(2, 2)
    data = (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="num_epochs"):
        fit(model, _loss, data, num_epochs=0)
    with pytest.raises(ValueError, match="lr"):
        fit(model, _loss, data, num_epochs=1, lr=-1)
    with pytest.raises(ValueError, match="tensors"):
        fit(model, _loss, ([1, 2], [3, 4]), num_epochs=1)
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        fit(frozen, _loss, data, num_epochs=1)
    with pytest.raises(ValueError, match="rows"):
        accuracy(model, torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))


def test_fit_reports_a_diverging_loss():
    model = torch.nn.Linear(2, 1)
    data = (torch.randn(8, 2), torch.randn(8))
    bad = lambda m, b: (m(b[0]).squeeze(-1) - b[1]).pow(2).mean() * float("inf")  # noqa: E731
    with pytest.raises(FloatingPointError, match="smaller lr"):
        fit(model, bad, data, num_epochs=1, progress=False)


def test_train_step_is_one_sgd_step_and_returns_the_loss_before_it():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.0)).eval()
    batch = (torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1]))
    loss_fn = lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
    expected = loss_fn(model, batch)
    grads = torch.autograd.grad(expected, list(model.parameters()))
    after = [p.detach() - 0.1 * g for p, g in zip(model.parameters(), grads)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():   # stale gradients must be cleared, not added to
        p.grad = torch.ones_like(p)
    loss = train_step(model, loss_fn, opt, batch)
    assert isinstance(loss, float) and loss == pytest.approx(expected.item())
    assert model.training
    for p, a in zip(model.parameters(), after):
        torch.testing.assert_close(p.detach(), a)


def test_fit_runs_the_step_it_is_given():
    calls = []

    def counting_step(model, loss_fn, optimizer, batch):
        calls.append(len(batch[0]))
        return train_step(model, loss_fn, optimizer, batch)

    model = torch.nn.Linear(2, 1)
    data = (torch.randn(10, 2), torch.randn(10))
    mse = lambda m, b: (m(b[0]).squeeze(-1) - b[1]).pow(2).mean()  # noqa: E731
    history = fit(model, mse, data, num_epochs=2, batch_size=4, progress=False, step=counting_step)
    assert calls == [4, 4, 2] * 2 and len(history) == 2
    with pytest.raises(FloatingPointError, match="smaller lr"):   # a step that returns nan is caught
        fit(model, mse, data, num_epochs=1, progress=False, step=lambda *a: float("nan"))


def test_history_is_a_plain_container():
    h = History([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.0}])
    assert h["loss"] == [2.0, 1.0] and h.last("loss") == 1.0


def test_live_plot_names_unknown_metrics():
    d = load_digits()
    with pytest.raises(ValueError, match="no \\['val_acc'\\]"):
        fit(torch.nn.Linear(64, 10), _loss, (d.X_train, d.y_train), num_epochs=1, progress=False,
            live_plot=["val_acc"])


def test_warmup_cosine_shape():
    assert warmup_cosine(0.0) == 1.0 and warmup_cosine(1.0) == pytest.approx(0.1)
    assert warmup_cosine(0.0, warmup=0.1) == 0.0 and warmup_cosine(0.05, warmup=0.1) == pytest.approx(0.5)
    assert warmup_cosine(0.1, warmup=0.1) == pytest.approx(1.0)
    assert warmup_cosine(0.55, warmup=0.1, min_ratio=0.0) == pytest.approx(0.5)   # half-way down the cosine
    assert warmup_cosine(2.0, min_ratio=0.2) == pytest.approx(0.2)                  # clamped past the end
    values = [warmup_cosine(i / 100, warmup=0.05) for i in range(5, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))                           # never rises after warmup
    with pytest.raises(ValueError, match="warmup"):
        warmup_cosine(0.5, warmup=1.0)


def test_fit_sets_every_steps_lr_from_the_schedule_and_calls_the_hook():
    X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    seen = []
    fit(model, _loss, (X, y), num_epochs=3, batch_size=8, lr=0.5, optimizer=opt, progress=False,
        lr_schedule=lambda p: 1 - p, on_step=lambda step, total: seen.append((step, total, opt.param_groups[0]["lr"])))
    assert [s for s, _, _ in seen] == list(range(15)) and {t for _, t, _ in seen} == {15}
    # the hook runs after the schedule set this step's lr: 0.5 * (1 - step / 15)
    assert [lr for _, _, lr in seen] == pytest.approx([0.5 * (1 - s / 15) for s in range(15)])
    with pytest.raises(ValueError, match="lr_schedule"):
        fit(model, _loss, (X, y), num_epochs=1, lr_schedule=0.1, progress=False)


def test_count_parameters_counts_shared_tensors_once_and_can_skip_frozen():
    shared = torch.nn.Linear(4, 4)
    model = torch.nn.Sequential(shared, torch.nn.ReLU(), shared, torch.nn.Linear(4, 2))
    assert count_parameters(model) == 20 + 10
    model[3].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 20
    with pytest.raises(ValueError, match="nn.Module"):
        count_parameters([torch.zeros(3)])
