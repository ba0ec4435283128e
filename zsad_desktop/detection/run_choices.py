"""The engines and precisions a detector runs with, by name: the settings and the command line offer
them before any model (or torch) is loaded; `execution` gives them their meaning."""

ENGINES = ("fast", "exact")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
