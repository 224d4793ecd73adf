"""Search strategies behind one interface: ``propose()`` a cell, ``tell()`` its score, ``best``.

Introduced in 06_nas_search. The interface follows NASLib: a strategy never trains anything,
it only proposes cells and learns from the scores it is told, so comparing strategies on a
tabular benchmark is a loop (``run_search``), not a rewrite.

- ``RandomSearch``: uniform cells; the baseline every NAS paper must beat.
- ``RegularizedEvolution`` (Real et al., AAAI 2019): tournament selection, one mutation per
  child, and the *oldest* member dies, so no lucky early cell survives forever.
- ``PredictorSearch``: fit a regressor (gradient boosting) on the cells seen so far and query
  the candidates it predicts best; BANANAS-style search without the neural ensemble.
"""
from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .space import Ops, mutate, one_hot, ops_to_index, random_cell, to_ops


class Strategy:
    """Base class: keeps the history and the best cell told so far."""

    name = "strategy"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.history: list[tuple[Ops, float]] = []

    def propose(self) -> Ops:
        raise NotImplementedError

    def tell(self, cell, score: float) -> None:
        self.history.append((to_ops(cell), float(score)))

    @property
    def best(self) -> tuple[Ops, float]:
        if not self.history:
            raise ValueError("no cell has been told yet")
        return max(self.history, key=lambda h: h[1])


class RandomSearch(Strategy):
    name = "random"

    def propose(self) -> Ops:
        return random_cell(self.rng)


class RegularizedEvolution(Strategy):
    """Aging evolution: ``population_size`` random cells, then children of tournament winners."""

    name = "REA"

    def __init__(self, population_size: int = 20, sample_size: int = 5, seed: int = 0):
        super().__init__(seed)
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"need 1 <= sample_size <= population_size, got {sample_size}, {population_size}")
        self.population_size, self.sample_size = population_size, sample_size
        self.population: deque[tuple[Ops, float]] = deque()

    def propose(self) -> Ops:
        if len(self.population) < self.population_size:
            return random_cell(self.rng)
        tournament = self.rng.sample(list(self.population), self.sample_size)
        parent = max(tournament, key=lambda m: m[1])[0]
        return mutate(parent, self.rng)

    def tell(self, cell, score: float) -> None:
        super().tell(cell, score)
        self.population.append((to_ops(cell), float(score)))
        if len(self.population) > self.population_size:
            self.population.popleft()          # the oldest dies, not the worst


class ModelBasedStrategy(Strategy):
    """Random cells for the first ``num_init`` queries, then batches chosen by a model.

    Subclasses implement ``_refill()``: fit their model on ``history`` and fill ``queue`` with
    the next cells to query. ``PredictorSearch`` here and 08's ``latent_bo.LatentSearch`` share this loop.
    """

    def __init__(self, num_init: int, seed: int = 0):
        super().__init__(seed)
        self.num_init = num_init
        self.queue: list[Ops] = []

    def _refill(self) -> None:
        raise NotImplementedError

    def propose(self) -> Ops:
        if len(self.history) < self.num_init:
            return random_cell(self.rng)
        if not self.queue:
            self._refill()
        return self.queue.pop(0)


class PredictorSearch(ModelBasedStrategy):
    """Fit a regressor on one-hot cells, query the predicted-best of many candidates.

    The first ``num_init`` queries are random. Afterwards every ``refit_every`` queries the
    model is refitted, and ``num_candidates`` candidates (random cells plus mutations of the
    best cells so far) are ranked by prediction; proposals come from the top of that ranking.
    """

    name = "predictor"

    def __init__(self, num_init: int = 20, refit_every: int = 10, num_candidates: int = 500, seed: int = 0):
        super().__init__(num_init, seed)
        self.refit_every, self.num_candidates = refit_every, num_candidates

    def _refill(self) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        X = np.array([one_hot(c) for c, _ in self.history])
        y = np.array([s for _, s in self.history])
        model = GradientBoostingRegressor(n_estimators=100, max_depth=3, learning_rate=0.1,
                                          random_state=self.rng.randrange(2**31)).fit(X, y)
        top = [c for c, _ in sorted(self.history, key=lambda h: -h[1])[:10]]
        seen = {c for c, _ in self.history}
        cands = {random_cell(self.rng) for _ in range(self.num_candidates // 2)}
        cands |= {mutate(self.rng.choice(top), self.rng) for _ in range(self.num_candidates // 2)}
        cands = sorted(cands - seen)
        pred = model.predict(np.array([one_hot(c) for c in cands]))
        self.queue = [cands[i] for i in np.argsort(-pred)[: self.refit_every]]


@dataclass
class Trajectory:
    """One search run: after each query, the incumbent's validation and test accuracy."""

    strategy: str
    best_val: list[float] = field(default_factory=list)
    best_test: list[float] = field(default_factory=list)

    def regret(self, best_test: float) -> np.ndarray:
        """Test regret of the incumbent (chosen by validation) after each query."""
        return best_test - np.asarray(self.best_test)

    def val_regret(self, best_val: float) -> np.ndarray:
        """Validation regret: how far the best score the strategy has seen is from the best."""
        return best_val - np.asarray(self.best_val)


def run_search(strategy: Strategy, bench, num_queries: int) -> Trajectory:
    """Let ``strategy`` query ``bench`` (a ``DigitsBench201``) ``num_queries`` times.

    The strategy sees validation accuracy only; the incumbent's test accuracy is recorded for
    the regret, as in NAS-Bench-201's protocol.
    """
    if num_queries < 1:
        raise ValueError(f"num_queries must be >= 1, got {num_queries}")
    traj = Trajectory(strategy.name)
    best_val, best_test = -1.0, 0.0
    for _ in range(num_queries):
        cell = strategy.propose()
        i = ops_to_index(cell)
        val = float(bench.val_acc[i])
        strategy.tell(cell, val)
        if val > best_val:
            best_val, best_test = val, float(bench.test_acc[i])
        traj.best_val.append(best_val)
        traj.best_test.append(best_test)
    return traj
