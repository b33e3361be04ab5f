"""Everything is configured in pyproject.toml; this only adds the shipped files to built packages.

The default model, the demo take and the icon live in ``resources/`` (where training writes the model and
``make run`` opens the demo); a wheel copies them to ``studio_tagger/resources/`` so an installed program
finds them through importlib.resources (see studio_tagger/shipped.py). Editable installs read
``resources/`` in place and get no copy.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# What an installed program needs from resources/ (not the training reports or the screenshot).
SHIPPED = ["models/default.safetensors", "models/default.json", "models/accurate.safetensors", "models/accurate.json",
           "demo/demo_take.flac", "demo/demo_take.json",
           "demo/README.md", "icons/studio-tagger.svg"]


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for relative in SHIPPED:
            target = Path(self.build_lib) / "studio_tagger" / "resources" / relative
            self.mkpath(str(target.parent))
            self.copy_file(str(Path("resources") / relative), str(target))


setup(cmdclass={"build_py": BuildWithResources})
