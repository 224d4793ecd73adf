"""Deep generative models, one idea per file: ``vae`` (02_vae), ``gpt`` — the model — and
``gpt_train`` — its baselines, training and the cached base model — (03_gpt), ``diffusion``
(04_diffusion), ``lora`` (05_lora).

Import what you need from its module, e.g. ``from genlab.generative.vae import VAE``.
"""
