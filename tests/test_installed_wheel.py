"""The program as a user installs it: a wheel built from this tree, installed on its own, analyses a file
from another folder with the model it carries (not the source tree's resources/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from audiogen import tone_burst

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=240, **kwargs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_an_installed_wheel_analyses_with_the_model_it_ships(tmp_path, write_audio):
    # Build from a copy, so the build leaves nothing in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("studio_tagger", "training"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "resources", src / "resources", ignore=shutil.ignore_patterns("reports", "*.png"))
    wheels = tmp_path / "wheels"
    # --no-build-isolation: setuptools from this environment (the dev extra), nothing downloaded.
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-index", "--no-deps", "--no-build-isolation",
          "-w", wheels, src])
    (wheel,) = wheels.glob("studio_tagger-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"studio_tagger/resources/models/default.safetensors", "studio_tagger/resources/models/default.json",
            "studio_tagger/resources/models/accurate.safetensors", "studio_tagger/resources/models/accurate.json",
            "studio_tagger/resources/demo/demo_take.flac", "studio_tagger/resources/icons/studio-tagger.svg"} <= names
    assert not any("reports/" in n for n in names)

    # Installed on its own; torch and the other dependencies come from this environment.
    site = tmp_path / "installed"
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
          "--target", site, wheel])
    assert not (site / "resources").exists()  # the source-tree fallback has nothing to find here
    env = {k: v for k, v in os.environ.items() if k != "STUDIO_TAGGER_MODEL"}
    env["PYTHONPATH"] = str(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    audio = write_audio("take.wav", tone_burst(6.0, 22050, 1.0, 5.0), 22050)
    proc = _run([site / "bin" / "studio-tagger", "analyze", audio, "--json", "out.json"], cwd=elsewhere, env=env)
    assert "wrote out.json" in proc.stdout
    analysis = json.loads((elsewhere / "out.json").read_text(encoding="utf-8"))
    card = json.loads((site / "studio_tagger/resources/models/default.json").read_text(encoding="utf-8"))
    assert analysis["model"] == card["name"] and analysis["labels"] == card["labels"]
    # The shipped option by its name, from the installed copy too.
    _run([site / "bin" / "studio-tagger", "analyze", audio, "--model", "accurate", "--json", "accurate.json"],
         cwd=elsewhere, env=env)
    assert json.loads((elsewhere / "accurate.json").read_text(encoding="utf-8"))["model"] == "studio-tagger-accurate"

    where = _run([sys.executable, "-c", "import studio_tagger, studio_tagger.models as m, studio_tagger.shipped as s;"
                  "print(studio_tagger.__file__, m.default_model_path(), s.demo_take(), s.icon(), sep='\\n')"],
                 cwd=elsewhere, env=env)
    for line in where.stdout.splitlines():
        assert Path(line).is_file() and Path(line).is_relative_to(site), line
