"""The options of a distributed strategy, validated under ``distributed:`` (pure pydantic: no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FsdpOptions(_Strict):
    """FSDP (``fsdp``: FullyShardedDataParallel; ``fsdp2``: ``fully_shard``) as users configure it."""

    sharding_strategy: Literal["FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD", "HYBRID_SHARD"] = Field(
        "FULL_SHARD", description="FSDP1's ShardingStrategy (fsdp2 shards fully, or not, by reshard_after_forward)"
    )
    auto_wrap: Literal["transformer_layer", "none"] = Field(
        "transformer_layer", description="wrap each decoder/encoder layer (the family's block class) or only the root"
    )
    use_orig_params: bool = Field(
        True, description="FSDP1: keep the original parameters (needed for frozen + trainable)"
    )
    cpu_offload: bool = Field(
        False, description="offload parameters to CPU (FSDP1 CPUOffload / fsdp2 CPUOffloadPolicy)"
    )
    reshard_after_forward: bool = Field(True, description="fsdp2: free the unsharded parameters after forward")


class DeepSpeedOptions(_Strict):
    """The DeepSpeed config the Trainer (or deepspeed.initialize) is given."""

    zero_stage: Literal[0, 1, 2, 3] = Field(2, description="ZeRO stage")
    offload_optimizer: bool = Field(False, description="zero_optimization.offload_optimizer: cpu")
    offload_param: bool = Field(False, description="zero_optimization.offload_param: cpu (stage 3 only)")
