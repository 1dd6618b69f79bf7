"""Tessera as a wheel, the way it is shipped: built from this tree, installed (not editable)
into a fresh virtual environment, and run from there, outside the repository: its templates,
policies, migrations, examples, locales and data files all come from the installed package.

The fresh environment takes Tessera from the wheel alone; its dependencies are the ones this
environment already holds (a `.pth` line to its site-packages), so the test needs no index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tmp_path(tmp_path: Path):
    """The test's folder, removed afterwards: the wheel carries the README, whose examples
    (a test card number) the end-of-run sweep of left files would otherwise report."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_wheel_installs_and_runs_the_demo(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("tessera-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "tessera/policies/default/contact_centre.cedar",
        "tessera/policies/schema.cedarschema",
        "tessera/storage/migrations/data/script.py.mako",
        "tessera/trust/cli/examples/purposes.toml",
        "tessera/trust/portal/locale/fr/LC_MESSAGES/portal.po",
        "tessera/trust/console/locale/fr/LC_MESSAGES/console.po",
        "tessera/trust/console/static/console.css",
        "tessera/trust/http/templates/pay.html",
        "tessera/trust/telemetry/__init__.py",
    ):
        assert needed in names, needed
    assert any(n.startswith("tessera/storage/migrations/data/versions/") for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tessera.trust; print(tessera.trust.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert where.startswith(str(site)), where  # the wheel's copy, not this tree
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["HOME"] = str(tmp_path)
    demo = subprocess.run(
        [str(venv / "bin" / "tessera"), "demo"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert demo.returncode == 0, (demo.stdout[-3000:], demo.stderr[-3000:])
    assert "Demo complete" in demo.stdout
