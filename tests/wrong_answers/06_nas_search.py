"""Plausible wrong answers for 06_nas_search: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "06_nas_search.ipynb": {
        # Little-endian digits: a perfect round trip with the right extremes, but not NAS-Bench-201's index.
        "encode_decode": '''
def encode(ops: tuple) -> int:
    """The index of a cell: its 6 ops as base-5 digits, first edge most significant."""
    return sum(space.OPS.index(op) * 5 ** k for k, op in enumerate(ops))


def decode(index: int) -> tuple:
    """The 6 op names of cell ``index`` (the inverse of ``encode``)."""
    ops = []
    for _ in range(6):
        index, digit = divmod(index, 5)
        ops.append(space.OPS[digit])
    return tuple(ops)
''',
        # The new op may equal the old one: sometimes the "child" is its parent.
        "mutate": '''
def mutate(ops: tuple, rng: random.Random) -> tuple:
    """A copy of ``ops`` with one random edge set to a different random op."""
    child = list(ops)
    child[rng.randrange(6)] = rng.choice(space.OPS)
    return tuple(child)
''',
        # Kill the worst instead of the oldest: plain (non-regularised) evolution.
        "regevo": '''
class RegEvo(search.Strategy):
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
            self.population.remove(min(self.population, key=lambda member: member[1]))
''',
        # grad_norm as the norm of all gradients together; synflow without |W|. Both are exact
        # on the visible tests' single positive linear layer.
        "proxies": '''
import copy


def weighted_layers(net: nn.Module) -> list:
    """The Conv2d and Linear layers of ``net`` (given)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def grad_norm(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Σ over conv/linear layers of the Frobenius norm of dL/dW, on a copy of ``net``."""
    net = copy.deepcopy(net).train()
    F.cross_entropy(net(X), y).backward()
    grads = [m.weight.grad.flatten() for m in weighted_layers(net) if m.weight.grad is not None]
    return float(torch.cat(grads).norm())


def synflow(net: nn.Module, X: torch.Tensor) -> float:
    """Σ |W ⊙ dR/dW| with |W| weights, an all-ones float64 input and R the sum of the outputs."""
    net = copy.deepcopy(net).double().eval()
    net(torch.ones((1,) + tuple(X.shape[1:]), dtype=torch.float64)).sum().backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().sum()
                     for m in weighted_layers(net) if m.weight.grad is not None))
''',
    },
}
