"""The xdist grouping that keeps each rendered project on one worker.

The suite renders and installs a variant once per worker, so `--dist=loadgroup`
must really send the tests of one `xdist_group` to one worker. pytest-xdist
applies a group by adding `@<group>` to the test's node id, which breaks when
pytest stops reading the attribute that xdist writes (pytest 9.2 with
pytest-xdist 3.8).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GROUPED_TEST = """
import pytest


@pytest.mark.xdist_group("shared")
def test_grouped(request):
    assert request.node.nodeid.endswith("@shared"), request.node.nodeid
"""


def test_loadgroup_applies_group(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED_TEST, encoding="utf-8")
    # An empty configuration, so this repository's addopts stay out of the run.
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            "--numprocesses=1",
            "--dist=loadgroup",
            "test_grouped.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "1 passed" in output, output
