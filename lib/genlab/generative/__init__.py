"""Deep generative models, one file each: ``vae`` (02), ``gpt`` (03), ``diffusion`` (04), ``lora`` (05).

Import what you need from its module, e.g. ``from genlab.generative.vae import VAE``.
"""
