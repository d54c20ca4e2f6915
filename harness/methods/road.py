"""RoAd: 2D rotation adaptation; group_size must divide every target's out features."""

from harness.methods._base import Method

METHOD = Method(
    name="road",
    config_class="RoadConfig",
    fixed={"variant": "road_1", "group_size": 2},
    non_identity={"init_weights": False},
)
