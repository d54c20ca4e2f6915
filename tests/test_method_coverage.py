"""Every PEFT type of the installed peft has a harness method, so a new peft release shows what is missing.

The table below maps each of peft's ``PeftType`` values to the harness method that covers it
(LoRA variants are further methods on LoraConfig; they need no peft type of their own). A peft
type without an entry fails the test by name; so does an entry whose module does not build the
config class peft registers for that type.
"""

from __future__ import annotations

import pytest

from harness.methods import METHODS

# peft type (its PeftType value) -> the harness method covering it
METHOD_OF_PEFT_TYPE: dict[str, str] = {
    "ADALORA": "adalora",
    "ADAMSS": "adamss",
    "ADAPTION_PROMPT": "adaption_prompt",
    "BEFT": "beft",
    "BOFT": "boft",
    "C3A": "c3a",
    "CARTRIDGE": "cartridge",
    "CPT": "cpt",
    "DEFT": "deft",
    "DELORA": "delora",
    "FOURIERFT": "fourierft",
    "FROD": "frod",
    "GLORA": "glora",
    "GRALORA": "gralora",
    "HIRA": "hira",
    "HRA": "hra",
    "IA3": "ia3",
    "LILY": "lily",
    "LN_TUNING": "ln_tuning",
    "LOHA": "loha",
    "LOKR": "lokr",
    "LORA": "lora",
    "MISS": "miss",
    "MULTITASK_PROMPT_TUNING": "multitask_prompt_tuning",
    "OFT": "oft",
    "OSF": "osf",
    "P_TUNING": "p_tuning",
    "PEANUT": "peanut",
    "POLY": "poly",
    "PREFIX_TUNING": "prefix_tuning",
    "PROMPT_TUNING": "prompt_tuning",
    "PSOFT": "psoft",
    "PVERA": "pvera",
    "RANDLORA": "randlora",
    "ROAD": "road",
    "SHADOW": "shadow",
    "SHIRA": "shira",
    "SUPERTUNING": "supertuning",
    "TINYLORA": "tinylora",
    "TRAINABLE_TOKENS": "trainable_tokens",
    "UNILORA": "unilora",
    "VBLORA": "vblora",
    "VERA": "vera",
    "WAVEFT": "waveft",
    "XLORA": "xlora",
}


def peft_registry() -> dict[str, type]:
    """peft type name -> its config class, from the installed peft's own registry."""
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    return {getattr(key, "name", str(key)): config for key, config in PEFT_TYPE_TO_CONFIG_MAPPING.items()}


def uncovered(registry: dict[str, type], table: dict[str, str]) -> list[str]:
    """What the table and the method registry lack for ``registry``, one line per peft type."""
    problems = []
    for peft_type, config_class in sorted(registry.items()):
        method = table.get(peft_type)
        if method is None:
            problems.append(
                f"{peft_type} ({config_class.__name__}): no harness method; add a module under harness/methods"
            )
        elif method not in METHODS:
            problems.append(
                f"{peft_type}: the table names '{method}', which harness/methods/__init__.py does not register"
            )
        elif METHODS[method].config_class != config_class.__name__:
            problems.append(
                f"{peft_type}: method '{method}' builds {METHODS[method].config_class}, peft registers {config_class.__name__}"
            )
    return problems


def test_every_peft_type_of_the_installed_peft_has_a_method() -> None:
    problems = uncovered(peft_registry(), METHOD_OF_PEFT_TYPE)
    assert not problems, "peft methods the harness does not cover:\n" + "\n".join(problems)


def test_the_peft_registry_is_read_for_real() -> None:
    # An empty or unreadable registry would make the coverage test pass vacuously.
    import peft
    from peft.utils.peft_types import PeftType

    registry = peft_registry()
    assert {"LORA", "PREFIX_TUNING", "IA3"} <= registry.keys()
    assert registry["LORA"] is peft.LoraConfig
    assert len(registry) == len([t for t in PeftType if t.name in registry])


def test_a_peft_type_without_a_method_is_named() -> None:
    registry = {**peft_registry(), "NEW_METHOD": type("NewMethodConfig", (), {})}
    problems = uncovered(registry, METHOD_OF_PEFT_TYPE)
    assert problems == ["NEW_METHOD (NewMethodConfig): no harness method; add a module under harness/methods"]


@pytest.mark.parametrize(
    ("table_entry", "expected"),
    [
        ("no-such-method", "the table names 'no-such-method', which harness/methods/__init__.py does not register"),
        ("lora", "method 'lora' builds LoraConfig, peft registers IA3Config"),
    ],
)
def test_a_wrong_table_entry_is_named(table_entry: str, expected: str) -> None:
    import peft

    problems = uncovered({"IA3": peft.IA3Config}, {"IA3": table_entry})
    assert problems == [f"IA3: {expected}"]


def test_every_registered_method_names_a_config_class_of_the_installed_peft() -> None:
    import peft

    missing = [
        f"{name}: peft has no {method.config_class}"
        for name in METHODS.names()
        if (method := METHODS[name]).config_class is not None and not hasattr(peft, method.config_class)
    ]
    assert not missing, "\n".join(missing)
