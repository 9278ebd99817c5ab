"""The Apple machine facts, read from the outputs of ``sysctl`` and ``system_profiler
SPDisplaysDataType -json``. No Mac runs these tests: the outputs below are written in the
formats those commands print (``name: value`` lines; the JSON keys ``sppci_model`` and
``sppci_cores``, a string, as Apple Silicon Macs report them), for three kinds of Mac."""

from __future__ import annotations

import json
import platform

import pytest

from whisperbench.apple import (
    SYSCTL_KEYS,
    apple_facts,
    parse_gpu_cores,
    parse_sysctl,
    performance_cores,
    read_apple_facts,
)
from whisperbench.devices import machine_facts

M2_PRO_SYSCTL = """\
machdep.cpu.brand_string: Apple M2 Pro
hw.model: Mac14,10
hw.memsize: 17179869184
hw.perflevel0.physicalcpu: 8
hw.perflevel1.physicalcpu: 4
"""
M2_PRO_DISPLAYS = json.dumps(
    {
        "SPDisplaysDataType": [
            {
                "_name": "Apple M2 Pro",
                "spdisplays_mtlgpufamilysupport": "spdisplays_metal3",
                "spdisplays_ndrvs": [{"_name": "Color LCD", "spdisplays_main": "spdisplays_yes"}],
                "spdisplays_vendor": "sppci_vendor_Apple",
                "sppci_bus": "spdisplays_builtin",
                "sppci_cores": "19",
                "sppci_device_type": "spdisplays_gpu",
                "sppci_model": "Apple M2 Pro",
            }
        ]
    },
    indent=2,
)
M1_MAC_MINI_SYSCTL = """\
machdep.cpu.brand_string: Apple M1
hw.model: Macmini9,1
hw.memsize: 8589934592
hw.perflevel0.physicalcpu: 4
hw.perflevel1.physicalcpu: 4
"""
M1_DISPLAYS = '{"SPDisplaysDataType": [{"_name": "Apple M1", "sppci_cores": "8"}]}'
INTEL_SYSCTL = """\
machdep.cpu.brand_string: Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz
hw.model: MacBookPro16,1
hw.memsize: 34359738368
"""
"""An Intel Mac has no ``hw.perflevel*``: sysctl prints the other names and, on stderr,
``sysctl: unknown oid 'hw.perflevel0.physicalcpu'``."""
INTEL_DISPLAYS = json.dumps(
    {
        "SPDisplaysDataType": [
            {"_name": "Intel UHD Graphics 630", "spdisplays_vram": "1536 MB"},
            {"_name": "AMD Radeon Pro 5300M", "spdisplays_vram": "4 GB"},
        ]
    }
)


def test_sysctl_lines_become_a_mapping() -> None:
    values = parse_sysctl(M2_PRO_SYSCTL)
    assert set(values) == set(SYSCTL_KEYS)
    assert values["machdep.cpu.brand_string"] == "Apple M2 Pro"
    assert parse_sysctl("") == {}


def test_gpu_cores_from_system_profiler() -> None:
    assert parse_gpu_cores(M2_PRO_DISPLAYS) == 19
    assert parse_gpu_cores(M1_DISPLAYS) == 8
    assert parse_gpu_cores(INTEL_DISPLAYS) is None
    assert parse_gpu_cores("") is None
    assert parse_gpu_cores("not json") is None


def test_an_m2_pro() -> None:
    facts = apple_facts(M2_PRO_SYSCTL, M2_PRO_DISPLAYS, "14.5")
    assert facts.chip == "Apple M2 Pro"
    assert facts.model == "Mac14,10"
    assert facts.gpu_cores == 19
    assert facts.unified_memory_gb == 16.0
    assert facts.macos_version == "14.5"
    assert (facts.performance_cores, facts.efficiency_cores) == (8, 4)


def test_an_m1_mac_mini_on_macos_13() -> None:
    facts = apple_facts(M1_MAC_MINI_SYSCTL, M1_DISPLAYS, "13.6.1")
    assert (facts.chip, facts.gpu_cores, facts.unified_memory_gb) == ("Apple M1", 8, 8.0)
    assert facts.macos_version == "13.6.1"
    assert facts.as_dict()["performance_cores"] == 4


def test_an_intel_mac_has_no_core_kinds_or_gpu_cores() -> None:
    facts = apple_facts(INTEL_SYSCTL, INTEL_DISPLAYS, "13.6")
    assert facts.chip is not None and facts.chip.startswith("Intel")
    assert facts.unified_memory_gb == 32.0
    assert facts.gpu_cores is None
    assert facts.performance_cores is None and facts.efficiency_cores is None


def test_commands_that_printed_nothing_give_empty_facts() -> None:
    facts = apple_facts("", "", "")
    assert set(facts.as_dict().values()) == {None}


@pytest.mark.skipif(platform.system() == "Darwin", reason="checks the behaviour off macOS")
def test_off_macos_there_are_no_apple_facts() -> None:
    assert read_apple_facts() is None
    assert performance_cores() is None
    facts = machine_facts()
    assert facts["apple"] is None and facts["apple_chip"] is None
    assert facts["mps_watermark"] is None


@pytest.mark.slow
@pytest.mark.skipif(platform.system() != "Darwin", reason="runs sysctl and system_profiler")
def test_this_mac_reports_its_facts() -> None:
    facts = read_apple_facts()
    assert facts is not None
    assert facts.chip and facts.unified_memory_gb and facts.macos_version
    saved = machine_facts()
    assert saved["apple"] == facts.as_dict()
    user_ratio = "PYTORCH_MPS_HIGH_WATERMARK_RATIO" in saved["pytorch_environment"]
    if saved["mps_available"] and not user_ratio:
        assert saved["mps_watermark"] == "1 x recommended working set (whisperbench)"
