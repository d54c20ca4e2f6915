"""No adapter: full fine-tuning, or a purely quantized model handed to the Trainer."""

from harness.methods._base import Method

METHOD = Method(name="none", config_class=None, targets=None)
