"""Plausible wrong answers for 00_orientation that pass the visible tests but not the hidden ones."""

WRONG = {
    "00_orientation.ipynb": {
        # The textbook formula without the max shift: fine on small logits, nan/-inf on large ones.
        "log_softmax": '''def log_softmax(x, dim=-1):
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))
''',
        # Indexes a whole column per label instead of one entry per row: right only for batch size 1.
        "cross_entropy": '''def cross_entropy(logits, y):
    return -log_softmax(logits, dim=-1)[:, y].mean()
''',
    },
}
