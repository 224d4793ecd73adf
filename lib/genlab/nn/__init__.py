"""Neural-network building blocks the library writes out by hand. Introduced in 01_foundations
(initialisation, batch norm, ``deep``: a deep ReLU net and its per-layer gradient norms);
``transformer`` — the one Transformer block of GPT, Netformer and CLIP — in 03_gpt."""
from .batchnorm import batch_norm_forward
from .deep import DeepReLUNet, layer_grad_norms
from .init import SCHEMES, activation_rms, deep_relu_mlp, fan_in, init_std, init_weight_
from .parameters import count_parameters
from .transformer import Block, SelfAttention, Transformer, attention, quick_gelu

__all__ = ["batch_norm_forward", "DeepReLUNet", "layer_grad_norms", "SCHEMES", "activation_rms", "count_parameters",
           "deep_relu_mlp", "fan_in", "init_std", "init_weight_", "Block", "SelfAttention", "Transformer", "attention", "quick_gelu"]
