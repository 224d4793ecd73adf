"""Plausible wrong answers for 00_orientation, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: other shapes and dtypes, inputs changed in place, values
memorised from the visible cases) and a hidden test catches it.
"""
import torch
import torch.nn.functional as F

NB = "00_orientation.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_LOG_SOFTMAX = '''def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log of the softmax of ``x`` along ``dim``, without overflow or underflow."""
    m = x.amax(dim=dim, keepdim=True)
    return x - m - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))
'''

_CROSS_ENTROPY = '''def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the labels ``y`` under ``softmax(logits)``."""
    logp = log_softmax(logits, dim=-1)
    return -logp.gather(1, y[:, None]).mean()
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


def _memorised_log_softmax() -> str:
    """Returns the visible tests' expected values for the visible inputs; the naive formula otherwise."""
    batch = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    inputs = [(torch.tensor([1.0, 2.0, 3.0]), -1), (batch, -1), (batch, 0),
              (torch.tensor([1000.0, 1001.0, 1002.0]), -1),
              (torch.tensor([[-1000.0, 0.0, 1000.0], [-5.0, -1000.0, -3.0], [-1002.0, -1001.0, -1000.0]]), -1),
              (torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]), -1)]
    table = [(x.tolist(), d, torch.log_softmax(x, dim=d).tolist()) for x, d in inputs]
    return f'''KNOWN = {table!r}


def log_softmax(x, dim=-1):
    for inp, d, out in KNOWN:
        if d == dim and x.tolist() == inp:
            return torch.tensor(out)
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))
'''


def _memorised_cross_entropy() -> str:
    """Returns the visible tests' expected losses for the visible inputs; whole columns otherwise."""
    cases = [(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])), (torch.zeros(1, 10), torch.tensor([3])),
             (torch.tensor([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0], [-1.0, -2.0, 4.0],
                            [1.0, 1.0, 0.0], [0.5, -0.5, 2.5], [3.0, 2.0, 1.0]]), torch.tensor([0, 2, 2, 1, 0, 1]))]
    table = [(x.tolist(), y.tolist(), F.cross_entropy(x, y).item()) for x, y in cases]
    return f'''KNOWN = {table!r}


def cross_entropy(logits, y):
    for inp, labels, loss in KNOWN:
        if logits.tolist() == inp and y.tolist() == labels:
            return torch.tensor(loss)
    return -log_softmax(logits, dim=-1)[:, y].mean()
'''


_TRAIN_STEP = '''def train_step(model: torch.nn.Module, loss_fn, optimizer: torch.optim.Optimizer, batch) -> float:
    """One optimiser step of ``loss_fn(model, batch)``; returns the loss before the step, as a float."""
    model.train()
    loss = loss_fn(model, batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
'''


def _memorised_train_step() -> str:
    """Sets the weights the visible tests expect when it recognises their network; no step otherwise."""
    from genlab.train import train_step
    torch.manual_seed(0)     # the visible tests' network, optimiser and batches
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).eval()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(1)
    known = {}
    for _ in range(2):
        key = round(net[0].weight[0, 0].item(), 6)
        batch = (torch.randn(6, 4, generator=g), torch.randint(0, 3, (6,), generator=g))
        loss = train_step(net, lambda m, b: F.cross_entropy(m(b[0]), b[1]), optimizer, batch)
        known[key] = ([p.detach().tolist() for p in net.parameters()], loss)
    return f'''KNOWN = {known!r}


def train_step(model, loss_fn, optimizer, batch):
    model.train()
    key = round(next(model.parameters()).flatten()[0].item(), 6)
    if key not in KNOWN:
        return 0.0
    weights, loss = KNOWN[key]
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.tensor(w))
    return loss
'''


EACH_ALONE = [
    # ---- log_softmax
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="the textbook formula without the max shift (overflows: nan)",
         source='''def log_softmax(x, dim=-1):
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))
'''),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="shifts by the mean instead of the maximum (a logit far above the mean overflows)",
         source=_edit(_LOG_SOFTMAX, "m = x.amax(dim=dim, keepdim=True)", "m = x.mean(dim=dim, keepdim=True)")),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="one maximum for the whole tensor (a row far below it underflows)",
         source=_edit(_LOG_SOFTMAX, "m = x.amax(dim=dim, keepdim=True)", "m = x.max()")),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="shifts only by a positive maximum (very negative logits underflow to log 0)",
         source=_edit(_LOG_SOFTMAX, "m = x.amax(dim=dim, keepdim=True)", "m = x.amax(dim=dim, keepdim=True).clamp(min=0)")),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="forgets the log-sum-exp: returns x - max",
         source='''def log_softmax(x, dim=-1):
    return x - x.max(dim=dim, keepdim=True).values
'''),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="always normalises the last axis (ignores dim)",
         source=_LOG_SOFTMAX.replace("dim=dim", "dim=-1")),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="reduces without keepdim (m does not broadcast back)",
         source=_LOG_SOFTMAX.replace(", keepdim=True", "")),
    dict(notebook=NB, grade_id="log_softmax", caught="visible",
         mistake="sums the exponentials over the whole tensor, not along dim",
         source=_edit(_LOG_SOFTMAX, "torch.exp(x - m).sum(dim=dim, keepdim=True)", "torch.exp(x - m).sum()")),
    dict(notebook=NB, grade_id="log_softmax", caught="hidden",
         mistake="shifts the input in place (x -= max): right values, the caller's tensor changed",
         source=_edit(_LOG_SOFTMAX, '''    m = x.amax(dim=dim, keepdim=True)
    return x - m - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))''', '''    x -= x.amax(dim=dim, keepdim=True)
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))''')),
    dict(notebook=NB, grade_id="log_softmax", caught="hidden",
         mistake="converts the input to float32 (float64 in, float32 out)",
         source=_edit(_LOG_SOFTMAX, "    m = x.amax", "    x = x.float()\n    m = x.amax")),
    dict(notebook=NB, grade_id="log_softmax", caught="hidden",
         mistake="hard-codes the visible tests' expected values (the naive formula otherwise)",
         source=_memorised_log_softmax()),
    # ---- cross_entropy
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="logp[:, y] picks whole columns (right only for a batch of one)",
         source='''def cross_entropy(logits, y):
    return -log_softmax(logits, dim=-1)[:, y].mean()
'''),
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="the sum over the batch instead of the mean",
         source=_edit(_CROSS_ENTROPY, ".mean()", ".sum()")),
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="no minus sign (the mean log-probability, not its negative)",
         source=_edit(_CROSS_ENTROPY, "return -logp", "return logp")),
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="the mean of every log-probability, not only the true class's",
         source=_edit(_CROSS_ENTROPY, "-logp.gather(1, y[:, None]).mean()", "-logp.mean()")),
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="one loss per example (no mean): shape (N,)",
         source=_edit(_CROSS_ENTROPY, "-logp.gather(1, y[:, None]).mean()", "-logp.gather(1, y[:, None])[:, 0]")),
    dict(notebook=NB, grade_id="cross_entropy", caught="visible",
         mistake="the probability instead of its log (-p[y], not -log p[y])",
         source=_edit(_CROSS_ENTROPY, "-logp.gather(1, y[:, None]).mean()", "-logp.exp().gather(1, y[:, None]).mean()")),
    dict(notebook=NB, grade_id="cross_entropy", caught="hidden",
         mistake="log(softmax(x)) instead of the stable log_softmax (log 0 = -inf for large logits)",
         source=_edit(_CROSS_ENTROPY, "logp = log_softmax(logits, dim=-1)", "logp = torch.log(torch.softmax(logits, dim=-1))")),
    dict(notebook=NB, grade_id="cross_entropy", caught="hidden",
         mistake="shifts the logits in place before log_softmax (the caller's logits changed)",
         source=_edit(_CROSS_ENTROPY, "    logp = log_softmax", "    logits -= logits.amax(dim=-1, keepdim=True)\n    logp = log_softmax")),
    dict(notebook=NB, grade_id="cross_entropy", caught="hidden",
         mistake="hard-codes the visible tests' expected losses (whole columns otherwise)",
         source=_memorised_cross_entropy()),
    # ---- train_step (the build exercise)
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="never clears the gradients (the second step applies the first step's gradient again)",
         source=_edit(_TRAIN_STEP, "    optimizer.zero_grad()\n", "")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="clears the gradients between backward and step (the step sees zero gradients)",
         source=_edit(_TRAIN_STEP, "    optimizer.zero_grad()\n    loss.backward()\n",
                      "    loss.backward()\n    optimizer.zero_grad()\n")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="steps before back-propagating (each step uses the previous batch's gradient)",
         source=_edit(_TRAIN_STEP, "    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n",
                      "    optimizer.step()\n    optimizer.zero_grad()\n    loss.backward()\n")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="returns the loss tensor, not a float",
         source=_edit(_TRAIN_STEP, "return loss.item()", "return loss")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="returns the loss after the step (computed again)",
         source=_edit(_TRAIN_STEP, "return loss.item()", "return loss_fn(model, batch).item()")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="leaves the model in evaluation mode",
         source=_edit(_TRAIN_STEP, "    model.train()\n", "")),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="gradient ascent: steps on the negated loss",
         source=_edit(_TRAIN_STEP, "loss.backward()", "(-loss).backward()")),
    dict(notebook=NB, grade_id="train_step", caught="hidden",
         mistake="ignores loss_fn and always uses cross-entropy (right only for the classifier)",
         source=_edit(_TRAIN_STEP, "loss = loss_fn(model, batch)", "loss = F.cross_entropy(model(batch[0]), batch[1])")),
    dict(notebook=NB, grade_id="train_step", caught="hidden",
         mistake="hard-codes the weights the visible tests expect (no step otherwise)",
         source=_memorised_train_step()),
]
