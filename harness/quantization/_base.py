"""What a quantization backend is: the ``quantization_config`` for ``from_pretrained``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.dsl.schema import QuantizationSpec


@dataclass(frozen=True)
class Backend:
    name: str
    # None: the model is used as built, without a save/reload round trip.
    make_config: Callable[[QuantizationSpec], Any] | None = None
    requires: str | None = None

    @property
    def quantizes(self) -> bool:
        return self.make_config is not None
