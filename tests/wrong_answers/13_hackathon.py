"""Plausible wrong answers for 13_hackathon, each graded alone (design.md, "Grading").

The model answers are read from the instructor's notebook and edited, so each wrong answer
differs from the model in one mistake. ``caught="visible"``: the interface rule the prose states
(pixels in [0, 1], one flat image per label, the budget kept, an instance with the interface,
the 10-query limit). ``caught="hidden"``: the answer passes the 10-query, 20-label visible tests
but breaks at the grader's 50 queries or 1,000 labels.
"""
import json
from pathlib import Path

NB = "13_hackathon.ipynb"
EXERCISES_ONLY = True    # the test cells need only the locked set-up cell

_cells = json.loads((Path(__file__).parents[2] / "solutions" / "13_hackathon" / NB).read_text())["cells"]
_model = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in _cells
          if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
_GEN = "\n".join(line for line in _model["train_generator"].splitlines() if "### " not in line)


def _edit(old: str, new: str, source: str = _GEN) -> str:
    assert old in source, old
    return source.replace(old, new)


_FIXED_CELLS = '''
class FixedCells(search.Strategy):
    """Draws its candidates up front: as many as the visible test's queries."""

    def __init__(self, seed):
        super().__init__(seed)
        self.cells = [space.random_cell(self.rng) for _ in range(10)]

    def propose(self):
        return self.cells.pop()


def make_strategy(seed: int):
    return FixedCells(seed)
'''

_PEEKING = '''
class Peeking(search.Strategy):
    """Asks the oracle itself which of two random cells is better, then proposes that one."""

    def propose(self):
        a, b = space.random_cell(self.rng), space.random_cell(self.rng)
        return a if oracle(a) >= oracle(b) else b


def make_strategy(seed: int):
    return Peeking(seed)
'''

EACH_ALONE = [
    dict(notebook=NB, grade_id="train_generator", caught="visible",
         mistake="sample returns the decoder's logits, not pixel probabilities",
         source=_edit("return torch.sigmoid(dec(torch.cat([z, onehot(labels)], 1)))",
                      "return dec(torch.cat([z, onehot(labels)], 1))")),
    dict(notebook=NB, grade_id="train_generator", caught="visible",
         mistake="sample returns (N, 1, 8, 8) images instead of flat rows of 64",
         source=_edit("return torch.sigmoid(dec(torch.cat([z, onehot(labels)], 1)))",
                      "return torch.sigmoid(dec(torch.cat([z, onehot(labels)], 1))).reshape(-1, 1, 8, 8)")),
    dict(notebook=NB, grade_id="train_generator", caught="visible",
         mistake="ignores the budget: a fixed 100 epochs",
         source=_edit("while not budget.spent:\n        for idx", "for _ in range(100):\n        for idx")
                .replace("            if budget.spent:\n                break\n", "")),
    dict(notebook=NB, grade_id="train_generator", caught="hidden",
         mistake="sample draws one batch of at most 64 images (the visible test asks for 20)",
         source=_edit("labels = torch.as_tensor(labels, dtype=torch.int64)",
                      "labels = torch.as_tensor(labels, dtype=torch.int64)[:64]")),
    dict(notebook=NB, grade_id="make_strategy", caught="visible",
         mistake="returns the strategy's class, not an instance",
         source="def make_strategy(seed: int):\n    return search.PredictorSearch\n"),
    dict(notebook=NB, grade_id="make_strategy", caught="visible",
         mistake="queries the oracle inside propose (more queries than the limit)", source=_PEEKING),
    dict(notebook=NB, grade_id="make_strategy", caught="hidden",
         mistake="draws 10 candidate cells up front (the visible test's number of queries)", source=_FIXED_CELLS),
]
