"""The energy meters' choice and the RAPL reading code, on real files laid out as
``/sys/class/powercap`` is; NVML's and Zeus's absence here gives a reason, never a zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from whisperbench.resources import energy
from whisperbench.resources.energy import (
    EnergyAbsent,
    RaplMeter,
    choose_meter,
    per_audio_hour,
    rapl_zones,
    short_span_note,
    wrapped_delta,
)
from whisperbench.resources.nvml import NO_PYNVML, NvmlGpu, open_gpu, visible_index


def powercap(root: Path, zones: dict[str, tuple[int, int]]) -> Path:
    """A powercap folder: each zone's ``energy_uj`` and ``max_energy_range_uj``."""
    for name, (now, top) in zones.items():
        zone = root / name
        zone.mkdir(parents=True)
        (zone / "energy_uj").write_text(f"{now}\n")
        (zone / "max_energy_range_uj").write_text(f"{top}\n")
        (zone / "name").write_text("package-0\n")
    return root


def set_energy(root: Path, zone: str, value: int) -> None:
    (root / zone / "energy_uj").write_text(f"{value}\n")


def test_this_machine_has_no_meter_and_says_why() -> None:
    """These containers expose no RAPL and have no NVIDIA GPU: absent, with each reason."""
    if Path("/sys/class/powercap").exists() or isinstance(open_gpu(), NvmlGpu):
        pytest.skip("this machine has a meter")
    found = choose_meter("cpu")
    assert isinstance(found, EnergyAbsent)
    assert "RAPL is not exposed here" in found.reason
    assert "/sys/class/powercap has no readable intel-rapl energy_uj" in found.reason


def test_rapl_package_zones_are_read_and_their_sub_zones_left_out(tmp_path: Path) -> None:
    root = powercap(
        tmp_path,
        {"intel-rapl:0": (1000, 10**9), "intel-rapl:1": (5, 10**9), "intel-rapl:0:0": (7, 10**9)},
    )
    zones = rapl_zones(root)
    assert isinstance(zones, list)
    assert [z.name for z in zones] == ["intel-rapl:0", "intel-rapl:1"]
    meter = choose_meter("cpu", powercap=root, use_zeus=False)
    assert isinstance(meter, RaplMeter)
    assert "intel-rapl:0, intel-rapl:1" in meter.method
    meter.begin()
    set_energy(root, "intel-rapl:0", 1000 + 2_500_000)
    set_energy(root, "intel-rapl:1", 5 + 500_000)
    set_energy(root, "intel-rapl:0:0", 10**8)  # part of package 0: not counted again
    assert meter.end() == pytest.approx(3.0)


def test_rapl_counts_through_wraparound_and_more_than_one_wrap_when_polled(
    tmp_path: Path,
) -> None:
    top = 1_000_000
    root = powercap(tmp_path, {"intel-rapl:0": (900_000, top)})
    meter = choose_meter("cpu", powercap=root, use_zeus=False)
    assert isinstance(meter, RaplMeter)
    meter.begin()
    set_energy(root, "intel-rapl:0", 100_000)  # wrapped once: 0.2 J
    meter.poll()
    set_energy(root, "intel-rapl:0", 50_000)  # wrapped again: 0.95 J
    assert meter.end() == pytest.approx(1.15)
    assert wrapped_delta(10, 30, top) == 20
    assert wrapped_delta(top - 10, 5, top) == 15


def test_an_unreadable_rapl_counter_is_a_reason(tmp_path: Path) -> None:
    (tmp_path / "intel-rapl:0").mkdir()  # no energy_uj file (as a zone root may not read)
    zones = rapl_zones(tmp_path)
    assert isinstance(zones, str)
    assert "RAPL is not readable here" in zones and "energy_uj" in zones
    found = choose_meter("cpu", powercap=tmp_path, use_zeus=False)
    assert isinstance(found, EnergyAbsent)
    assert "no NVIDIA GPU energy for a cpu case" in found.reason


def test_a_cuda_case_without_nvml_gives_nvmls_reason(tmp_path: Path) -> None:
    """No GPU here: NVML's own failure (or pynvml's absence) is the reason, with RAPL's."""
    found = choose_meter("cuda", powercap=tmp_path, use_zeus=False)
    assert isinstance(found, EnergyAbsent)
    assert "NVML could not be read" in found.reason or NO_PYNVML in found.reason
    assert "RAPL is not exposed here" in found.reason
    given = choose_meter("cuda", powercap=tmp_path, use_zeus=False, gpu="no GPU at all")
    assert isinstance(given, EnergyAbsent) and given.reason.startswith("no GPU at all")


def test_zeus_not_installed_is_a_reason(tmp_path: Path) -> None:
    if energy.importlib.util.find_spec("zeus") is not None:
        pytest.skip("Zeus is installed here")
    found = choose_meter("cpu", powercap=tmp_path)
    assert isinstance(found, EnergyAbsent) and found.reason.startswith("Zeus is not installed")


def test_nvml_index_follows_cuda_visible_devices() -> None:
    assert visible_index({}, 0) == 0
    assert visible_index({"CUDA_VISIBLE_DEVICES": "2,3"}, 1) == 3
    assert visible_index({"CUDA_VISIBLE_DEVICES": "GPU-abc"}, 0) == "GPU-abc"


def test_per_audio_hour_and_the_short_span_warning() -> None:
    assert per_audio_hour(10.0, 36.0) == pytest.approx(1000.0)
    assert per_audio_hour(10.0, 0.0) is None
    assert short_span_note(2.0, energy.NVML_PERIOD_S) is None
    note = short_span_note(0.3, energy.RAPL_PERIOD_S)  # read at two ends: NVML's period counts
    assert note is not None and "0.30 s, under 1.0 s" in note and "--rounds" in note


def test_shards_join_their_energy_over_all_the_audio_they_timed() -> None:
    from whisperbench.results import CorpusResult
    from whisperbench.results.shards import joined_resources

    def shard(index: int, joules: float | None, audio_hours: float) -> CorpusResult:
        return CorpusResult(
            implementation="fake",
            model="tiny.en",
            dataset="d",
            shard=index,
            shards=2,
            energy_j=joules,
            energy_j_per_audio_hour=None if joules is None else joules / audio_hours,
            energy_absent_reason="no meter" if joules is None else None,
            nvml_peak_device_mb=100.0 * index,
        )

    joined = joined_resources([shard(1, 30.0, 0.01), shard(2, 10.0, 0.03)])
    assert joined["energy_j"] == 40.0
    assert joined["energy_j_per_audio_hour"] == pytest.approx(1000.0)
    assert joined["nvml_peak_device_mb"] == 200.0 and joined["timeline"] is None
    partial = joined_resources([shard(1, 30.0, 0.01), shard(2, None, 0.03)])
    assert partial["energy_j_per_audio_hour"] is None
    assert partial["energy_absent_reason"] == "no meter"
