"""No distribution: one process, the model as it is."""

from harness.distributed._base import Strategy


class NoStrategy(Strategy):
    name = "none"

    def describe(self, wrapped: object) -> dict[str, object]:
        return {}


STRATEGY = NoStrategy()
