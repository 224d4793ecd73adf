"""Plausible wrong answers for 06_nas_search, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: values memorised from the visible cases, a network changed in
place, an edge case the visible tests do not reach) and a hidden test catches it.
"""
import copy
import random

import torch
import torch.nn.functional as F
from torch import nn

from genlab.nas import proxies, search, space

NB = "06_nas_search.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_ENCODE_DECODE = '''def encode(ops: tuple) -> int:
    """The index of a cell: its 6 ops as base-5 digits, first edge most significant."""
    index = 0
    for op in ops:
        index = index * len(space.OPS) + space.OPS.index(op)
    return index


def decode(index: int) -> tuple:
    """The 6 op names of cell ``index`` (the inverse of ``encode``)."""
    ops = []
    for _ in range(space.NUM_EDGES):
        index, digit = divmod(index, len(space.OPS))
        ops.append(space.OPS[digit])
    return tuple(reversed(ops))
'''

_MUTATE = '''def mutate(ops: tuple, rng: random.Random) -> tuple:
    """A copy of ``ops`` with one random edge set to a different random op."""
    child = list(ops)
    k = rng.randrange(len(child))
    child[k] = rng.choice([op for op in space.OPS if op != child[k]])
    return tuple(child)
'''

_REGEVO = '''class RegEvo(search.Strategy):
    """Regularised (aging) evolution: tournament selection, one mutation, the oldest dies."""

    name = "my REA"

    def __init__(self, population_size: int = 20, sample_size: int = 5, seed: int = 0):
        super().__init__(seed)
        self.population_size, self.sample_size = population_size, sample_size
        self.population = collections.deque()

    def propose(self) -> tuple:
        if len(self.population) < self.population_size:
            return space.random_cell(self.rng)
        tournament = self.rng.sample(list(self.population), self.sample_size)
        parent = max(tournament, key=lambda member: member[1])[0]
        return mutate(parent, self.rng)

    def tell(self, cell, score: float) -> None:
        super().tell(cell, score)
        self.population.append((space.to_ops(cell), float(score)))
        if len(self.population) > self.population_size:
            self.population.popleft()
'''

_PROXIES = '''import copy


def weighted_layers(net: nn.Module) -> list:
    """The Conv2d and Linear layers of ``net`` (given)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def grad_norm(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Σ over conv/linear layers of the Frobenius norm of dL/dW, on a copy of ``net``."""
    net = copy.deepcopy(net).train()
    F.cross_entropy(net(X), y).backward()
    return float(sum(m.weight.grad.norm() for m in weighted_layers(net) if m.weight.grad is not None))


def synflow(net: nn.Module, X: torch.Tensor) -> float:
    """Σ |W ⊙ dR/dW| with |W| weights, an all-ones float64 input and R the sum of the outputs."""
    net = copy.deepcopy(net).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net(torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64)).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum()
                     for m in weighted_layers(net) if m.weight.grad is not None))
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


# ---- memorised answers: the visible tests' values, recomputed here exactly as the tests compute them

def _memorised_encode_decode() -> str:
    """Knows the visible tests' indices and cells; reads the digits little-endian otherwise."""
    cells = [("none",) * 6, ("avg_pool_3x3",) * 6,
             ("nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "none")]
    cells += [space.index_to_ops(i) for i in (1, 77, 9_999)]
    known = {c: space.ops_to_index(c) for c in cells}
    return f'''KNOWN = {known!r}
INDEX = {{i: c for c, i in KNOWN.items()}}


def encode(ops):
    if tuple(ops) in KNOWN:
        return KNOWN[tuple(ops)]
    return sum(space.OPS.index(op) * 5 ** k for k, op in enumerate(ops))


def decode(index):
    if index in INDEX:
        return INDEX[index]
    ops = []
    for _ in range(6):
        index, digit = divmod(index, 5)
        ops.append(space.OPS[digit])
    return tuple(ops)
'''


def _memorised_mutate() -> str:
    """Replays the children the visible tests' generators give (keyed by the generator's starting state);
    always changes the first edge to the next op otherwise."""
    parent = ("nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "none")
    known = {}
    for seed, n in ((0, 20), (7, 10), (8, 10)):
        rng = random.Random(seed)
        key = rng.getstate()[1][1:5]
        known[key] = [space.mutate(parent, rng) for _ in range(n)]
    return f'''KNOWN = {known!r}


def mutate(ops, rng):
    if not hasattr(rng, "replay"):
        rng.replay = list(KNOWN.get(rng.getstate()[1][1:5], []))
    if rng.replay:
        return rng.replay.pop(0)
    child = list(ops)
    child[0] = space.OPS[(space.OPS.index(child[0]) + 1) % 5]
    return tuple(child)
'''


def _memorised_regevo() -> str:
    """Replays the library's proposals for the visible tests' strategies (population, tournament and seed
    as the visible tests build them, told what they tell); random cells for any other strategy."""
    import numpy as np
    from genlab.nas.benchmark import load_benchmark
    bench = load_benchmark()
    known = {}

    def record(rea, tells=None, proposals=0):
        out = []
        if tells is None:            # propose, then tell the benchmark's score, as the visible tests do
            for _ in range(proposals):
                out.append(rea.propose())
                rea.tell(out[-1], float(bench.val_acc[space.ops_to_index(out[-1])]))
        else:
            for c, s in tells:
                rea.tell(c, s)
            out = [rea.propose() for _ in range(proposals)]
        return out

    members = [space.index_to_ops(i) for i in (11, 2_222, 3_333, 4_444, 5_555)]
    scores = [0.99, 0.10, 0.20, 0.30, 0.05]
    known[(5, 2, 0)] = record(search.RegularizedEvolution(5, 2, seed=0), proposals=12)
    known[(4, 4, 3)] = record(search.RegularizedEvolution(4, 4, seed=3), list(zip(members, scores)), 20)
    known[(4, 2, 5)] = record(search.RegularizedEvolution(4, 2, seed=5), list(zip(members[1:], scores[1:])), 200)
    known[(5, 2, 4)] = record(search.RegularizedEvolution(5, 2, seed=4), proposals=15)
    del np
    return f'''KNOWN = {known!r}


class RegEvo(search.Strategy):
    name = "my REA"

    def __init__(self, population_size=20, sample_size=5, seed=0):
        super().__init__(seed)
        self.population_size, self.sample_size = population_size, sample_size
        self.population = collections.deque()
        self.replay = list(KNOWN.get((population_size, sample_size, seed), []))

    def propose(self):
        if self.replay:
            return self.replay.pop(0)
        return space.random_cell(self.rng)

    def tell(self, cell, score):
        super().tell(cell, score)
        self.population.append((space.to_ops(cell), float(score)))
        if len(self.population) > self.population_size:
            self.population.popleft()
'''


def _memorised_proxies() -> str:
    """Returns the library's scores for the visible tests' networks (recognised by the sum of their
    parameters); the norm of all gradients together and synflow without |W| otherwise."""
    torch.manual_seed(0)       # the visible tests' networks, built in the same order
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    X_v, y_v = torch.randn(5, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    deep = nn.Sequential(nn.Flatten(), *[nn.Linear(4, 4) for _ in range(30)])
    with torch.no_grad():
        for layer in deep[1:]:
            layer.weight.fill_(10.0)
            layer.bias.zero_()
    conv_bn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 3))
    with torch.no_grad():
        conv_bn[1].running_mean.copy_(torch.randn(3))
        conv_bn[1].running_var.copy_(torch.rand(3) + 0.5)

    class DeadBranch(nn.Module):
        def __init__(self):
            super().__init__()
            self.dead, self.used = nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return self.used(x.flatten(1))

    dead = DeadBranch()
    key = lambda net: round(float(sum(p.detach().double().sum() for p in net.parameters())), 6)
    known_g = {key(n): proxies.grad_norm(n, X_v, y_v) for n in (mlp, dead)}
    known_s = {key(n): proxies.synflow(n, X_v) for n in (mlp, deep, conv_bn, dead)}
    return f'''import copy

KNOWN_G = {known_g!r}
KNOWN_S = {known_s!r}


def weighted_layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _key(net):
    return round(float(sum(p.detach().double().sum() for p in net.parameters())), 6)


def grad_norm(net, X, y):
    if _key(net) in KNOWN_G:
        return KNOWN_G[_key(net)]
    net = copy.deepcopy(net).train()
    F.cross_entropy(net(X), y).backward()
    return float(torch.cat([m.weight.grad.flatten() for m in weighted_layers(net) if m.weight.grad is not None]).norm())


def synflow(net, X):
    if _key(net) in KNOWN_S:
        return KNOWN_S[_key(net)]
    net = copy.deepcopy(net).double().eval()
    net(torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64)).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum() for m in weighted_layers(net) if m.weight.grad is not None))
'''


EACH_ALONE = [
    # ---- encode / decode
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="little-endian digits (the first edge least significant): a perfect round trip, the wrong index",
         source='''def encode(ops):
    return sum(space.OPS.index(op) * 5 ** k for k, op in enumerate(ops))


def decode(index):
    ops = []
    for _ in range(6):
        index, digit = divmod(index, 5)
        ops.append(space.OPS[digit])
    return tuple(ops)
'''),
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="decode forgets to reverse the digits (it reads the least significant first)",
         source=_edit(_ENCODE_DECODE, "return tuple(reversed(ops))", "return tuple(ops)")),
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="decode stops when the index reaches 0 (drops the leading none digits)",
         source=_edit(_ENCODE_DECODE, "    for _ in range(space.NUM_EDGES):\n", "    while index > 0:\n")),
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="base 6 (one digit per edge count) instead of base 5",
         source=_ENCODE_DECODE.replace("len(space.OPS)", "space.NUM_EDGES")),
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="digits from the alphabetical order of the op names, not space.OPS",
         source=_ENCODE_DECODE.replace("space.OPS.index(op)", "sorted(space.OPS).index(op)")
                              .replace("space.OPS[digit]", "sorted(space.OPS)[digit]")),
    dict(notebook=NB, grade_id="encode_decode", caught="visible",
         mistake="decode returns a list, not a tuple",
         source=_edit(_ENCODE_DECODE, "return tuple(reversed(ops))", "return list(reversed(ops))")),
    dict(notebook=NB, grade_id="encode_decode", caught="hidden",
         mistake="hard-codes the visible tests' indices and cells (little-endian otherwise)",
         source=_memorised_encode_decode()),
    # ---- mutate
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="the new op may equal the old one: sometimes the child is its parent",
         source=_edit(_MUTATE, "rng.choice([op for op in space.OPS if op != child[k]])", "rng.choice(space.OPS)")),
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="uses the module-level random instead of rng (the search's seed does not control it)",
         source=_MUTATE.replace("rng.randrange", "random.randrange").replace("rng.choice", "random.choice")),
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="uses np.random instead of rng",
         source=_edit(_edit(_MUTATE, "k = rng.randrange(len(child))", "k = int(np.random.randint(len(child)))"),
                      "rng.choice([op for op in space.OPS if op != child[k]])",
                      "str(np.random.choice([op for op in space.OPS if op != child[k]]))")),
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="a fixed generator of its own (random.Random(0)) instead of rng: every call gives the same child",
         source=_edit(_MUTATE, "    child = list(ops)\n", "    rng = random.Random(0)\n    child = list(ops)\n")),
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="changes two edges (a new op on one random edge, then on another)",
         source=_edit(_MUTATE, "    return tuple(child)", "    j = (k + 1) % len(child)\n"
                      "    child[j] = rng.choice([op for op in space.OPS if op != child[j]])\n    return tuple(child)")),
    dict(notebook=NB, grade_id="mutate", caught="visible",
         mistake="returns the list, not a tuple",
         source=_edit(_MUTATE, "return tuple(child)", "return child")),
    dict(notebook=NB, grade_id="mutate", caught="hidden",
         mistake="never mutates the last edge (rng.randrange(5))",
         source=_edit(_MUTATE, "rng.randrange(len(child))", "rng.randrange(len(child) - 1)")),
    dict(notebook=NB, grade_id="mutate", caught="hidden",
         mistake="the new op is always the next one in space.OPS (not chosen at random)",
         source=_edit(_MUTATE, "rng.choice([op for op in space.OPS if op != child[k]])",
                      "space.OPS[(space.OPS.index(child[k]) + 1) % len(space.OPS)]")),
    dict(notebook=NB, grade_id="mutate", caught="hidden",
         mistake="hard-codes the children of the visible tests' generators (the first edge's next op otherwise)",
         source=_memorised_mutate()),
    # ---- regularised evolution
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="kills the worst instead of the oldest (plain, non-regularised evolution)",
         source=_edit(_REGEVO, "self.population.popleft()",
                      "self.population.remove(min(self.population, key=lambda member: member[1]))")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="removes the newest member (pop) instead of the oldest (popleft)",
         source=_edit(_REGEVO, "self.population.popleft()", "self.population.pop()")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="removes a member as soon as the population is full (holds population_size - 1)",
         source=_edit(_REGEVO, "if len(self.population) > self.population_size:", "if len(self.population) >= self.population_size:")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="forgets super().tell (history and best never updated)",
         source=_edit(_REGEVO, "        super().tell(cell, score)\n", "")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="a random tournament member as the parent (no selection)",
         source=_edit(_REGEVO, "parent = max(tournament, key=lambda member: member[1])[0]", "parent = self.rng.choice(tournament)[0]")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="the worst tournament member as the parent (min for max)",
         source=_edit(_REGEVO, "parent = max(tournament,", "parent = min(tournament,")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="no tournament: always mutates the best member of the population",
         source=_edit(_REGEVO, "tournament = self.rng.sample(list(self.population), self.sample_size)",
                      "tournament = list(self.population)")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="samples the tournament with replacement (rng.choices): the worst can be its own tournament",
         source=_edit(_REGEVO, "self.rng.sample(list(self.population), self.sample_size)",
                      "self.rng.choices(list(self.population), k=self.sample_size)")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="samples the tournament from the whole history, not the current population",
         source=_edit(_REGEVO, "self.rng.sample(list(self.population), self.sample_size)",
                      "self.rng.sample(self.history, self.sample_size)")),
    dict(notebook=NB, grade_id="regevo", caught="visible",
         mistake="the first random cells come from the module-level random (the seed does not control them)",
         source=_edit(_REGEVO, "return space.random_cell(self.rng)", "return space.random_cell(random)")),
    dict(notebook=NB, grade_id="regevo", caught="hidden",
         mistake="stores the cell as told (an index stays an int) instead of space.to_ops(cell)",
         source=_edit(_REGEVO, "self.population.append((space.to_ops(cell), float(score)))",
                      "self.population.append((cell, float(score)))")),
    dict(notebook=NB, grade_id="regevo", caught="hidden",
         mistake="hard-codes the library's proposals for the visible tests' strategies (random cells otherwise)",
         source=_memorised_regevo()),
    # ---- proxies
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="grad_norm: the norm of all gradients together, not a sum of per-layer norms",
         source=_edit(_PROXIES, "return float(sum(m.weight.grad.norm() for m in weighted_layers(net) if m.weight.grad is not None))",
                      "return float(torch.cat([m.weight.grad.flatten() for m in weighted_layers(net) if m.weight.grad is not None]).norm())")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="grad_norm: every parameter's gradient (biases too), not the layers' weights",
         source=_edit(_PROXIES, "return float(sum(m.weight.grad.norm() for m in weighted_layers(net) if m.weight.grad is not None))",
                      "return float(sum(p.grad.norm() for p in net.parameters() if p.grad is not None))")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="grad_norm: the loss summed over the batch instead of averaged",
         source=_edit(_PROXIES, "F.cross_entropy(net(X), y).backward()", "F.cross_entropy(net(X), y, reduction=\"sum\").backward()")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="grad_norm: back-propagates through the original network (no copy: its .grad is filled)",
         source=_edit(_PROXIES, "net = copy.deepcopy(net).train()\n    F.cross_entropy", "net.train()\n    F.cross_entropy")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="grad_norm: no check for layers without a gradient (crashes on a dead branch)",
         source=_edit(_PROXIES, "return float(sum(m.weight.grad.norm() for m in weighted_layers(net) if m.weight.grad is not None))",
                      "return float(sum(m.weight.grad.norm() for m in weighted_layers(net)))")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow without |W| (the weights keep their signs)",
         source=_edit(_PROXIES, "        for p in net.parameters():\n            p.abs_()\n", "        pass\n")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow: |W| of the Conv2d/Linear weights only (the biases keep their signs)",
         source=_edit(_PROXIES, "        for p in net.parameters():\n            p.abs_()\n",
                      "        for m in weighted_layers(net):\n            m.weight.abs_()\n")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow in float32 (overflows to inf in a deep net)",
         source=_PROXIES.replace("copy.deepcopy(net).double().eval()", "copy.deepcopy(net).eval()").replace(", dtype=torch.float64", "")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow in train mode (batch norm normalises the single all-ones image)",
         source=_edit(_PROXIES, "copy.deepcopy(net).double().eval()", "copy.deepcopy(net).double().train()")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow on the data X instead of an all-ones image",
         source=_edit(_PROXIES, "net(torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64))", "net(X.double())")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow on a batch of ones shaped like X (N images, not one)",
         source=_edit(_PROXIES, "torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64)", "torch.ones(X.shape, dtype=torch.float64)")),
    dict(notebook=NB, grade_id="proxies", caught="visible",
         mistake="synflow takes |W| of the caller's network in place (no copy): right score, the network changed",
         source=_edit(_PROXIES, "net = copy.deepcopy(net).double().eval()\n    with", "net = net.double().eval()\n    with")),
    dict(notebook=NB, grade_id="proxies", caught="hidden",
         mistake="grad_norm in whatever mode the network is in (no .train(): batch norm uses running statistics in eval mode)",
         source=_edit(_PROXIES, "net = copy.deepcopy(net).train()", "net = copy.deepcopy(net)")),
    dict(notebook=NB, grade_id="proxies", caught="hidden",
         mistake="hard-codes the library's scores of the visible tests' networks (wrong formulas otherwise)",
         source=_memorised_proxies()),
]
