"""Neural architecture search, one idea per file.

- ``space``        the NAS-Bench-201 cell space: encodings, canonical form, mutation (06)
- ``network``      the network a cell is trained in; the ops DARTS mixes (06, 07)
- ``benchmark``    DigitsBench-201, the tabular benchmark, and ``generate`` which made it (06)
- ``search``       random search, regularised evolution, predictor-based search (06)
- ``proxies``      zero-cost proxies: grad_norm, snip, synflow, naswot (06)
- ``darts``        differentiable architecture search (07)
- ``netformer``    a Transformer VAE over architecture token sequences (08)
- ``latent_bo``    Bayesian optimisation in that VAE's latent space: a GP, expected improvement (08)
- ``layer_space``  plain CNNs as layer sequences, where a generated network can be invalid (08)
- ``expand``       self-expanding networks (09)
"""
