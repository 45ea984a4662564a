"""Every value is checked before the first write; restore writes back raw texts."""

import pytest

from ratchet.core.space import Space
from ratchet.plugins.targets.sysctl.tree import SysctlError, SysctlTree
from tests.targets.sysctl.conftest import snapshot

SPACE = Space.from_dict({"vm.swappiness": {"type": "int", "low": 0, "high": 100},
                         "vm.dirty_ratio": {"type": "int", "low": 5, "high": 80}})


def test_write_and_read(tree):
    t = SysctlTree(SPACE, tree)
    t.write({"vm.swappiness": 10, "vm.dirty_ratio": 40})
    assert (tree / "vm" / "swappiness").read_text() == "10\n"
    assert t.read("vm.dirty_ratio") == 40


@pytest.mark.parametrize("values, why", [
    ({"vm.dirty_ratio": 40, "vm.swappiness": 101}, "above the maximum 100"),
    ({"vm.dirty_ratio": 40, "vm.swappiness": -1}, "below the minimum 0"),
    ({"vm.dirty_ratio": 40, "vm.swappiness": 1.5}, "not a whole number"),
    ({"vm.dirty_ratio": 40, "vm.swappiness": "10; reboot"}, "is not a number"),
    ({"vm.dirty_ratio": 40, "kernel.panic": 1}, "not in the configured parameters"),
])
def test_bad_values_are_refused_before_any_write(tree, values, why):
    before = snapshot(tree)
    with pytest.raises(SysctlError, match="refused before any write") as info:
        SysctlTree(SPACE, tree).write(values)
    assert why in str(info.value)
    assert snapshot(tree) == before


def test_a_missing_parameter_is_refused_before_any_write(tree):
    (tree / "vm" / "dirty_ratio").unlink()
    before = snapshot(tree)
    with pytest.raises(SysctlError, match="no such kernel parameter"):
        SysctlTree(SPACE, tree).write({"vm.swappiness": 5, "vm.dirty_ratio": 40})
    assert snapshot(tree) == before


@pytest.mark.parametrize("name", ["vm/swappiness", "vm..x", "../etc.passwd", "swappiness"])
def test_malformed_names_are_refused(tree, name):
    with pytest.raises(SysctlError, match="not a sysctl name"):
        SysctlTree(Space.from_dict({name: {"type": "int", "low": 0, "high": 1}}), tree)


def test_multi_value_parameters_are_refused(tree):
    (tree / "vm" / "swappiness").write_text("4096 87380 6291456\n")
    with pytest.raises(SysctlError, match="not a single number"):
        SysctlTree(SPACE, tree).read("vm.swappiness")


def test_restore_writes_raw_text_even_outside_the_range(tree):
    t = SysctlTree(SPACE, tree)
    t.restore({"vm.swappiness": "200"})
    assert (tree / "vm" / "swappiness").read_text() == "200\n"
    with pytest.raises(SysctlError, match="not configured"):
        t.restore({"kernel.panic": "1"})
