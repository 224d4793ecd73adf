"""genlab: the shared library behind the genlab course notebooks."""
__version__ = "0.1.0"
