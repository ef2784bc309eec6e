"""Build hook: a wheel carries the bundled data (ontology/, facts.ttl, queries/, sources/) in kg/bundled/.

The data stays where the design puts it, at the project's top level; a checkout and an editable install
read it there (kg.graph.DATA_ROOT). A wheel has no project folder, so the build copies the same files,
in the same layout, into the package, where kg.graph finds them when there is no checkout around it.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ["facts.ttl", "ontology", "queries", "sources"]


class BuildWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the project folder itself
            return
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "kg" / "bundled"
        shutil.rmtree(target, ignore_errors=True)  # a file since removed from the project must not linger
        for name in BUNDLED:
            source, dest = root / name, target / name
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*~", ".*"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithData})
