"""Cartridges: a trainable KV-cache prefix."""

from harness.methods._base import Method

METHOD = Method(
    name="cartridge",
    config_class="CartridgeConfig",
    targets=None,
    derived=lambda scenario: {"num_virtual_tokens": 4},
)
