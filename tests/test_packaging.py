"""An installed wheel works on its own: the bundled data travels with the package.

`pip install -e .` reads the project folder; a plain `pip install .` (or a wheel copied to another
machine) has no project folder, so the wheel must carry ontology/, facts.ttl, queries/ and sources/.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ["facts.ttl", "ontology/kg.ttl", "ontology/shapes.ttl", "sources/article.zh.txt",
           *(f"queries/{p.name}" for p in sorted((ROOT / "queries").glob("*.rq")))]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The project built as a wheel and installed into a folder of its own (dependencies from this venv)."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(work / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(f"building the wheel failed: {build.stderr[-2000:]}")
    (wheel,) = (work / "dist").glob("*.whl")
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   capture_output=True, text=True, timeout=300, check=True)
    return wheel, target


def test_the_wheel_carries_every_bundled_file_unchanged(installed_wheel):
    wheel, _ = installed_wheel
    with zipfile.ZipFile(wheel) as archive:
        for name in BUNDLED:
            assert archive.read(f"kg/bundled/{name}") == (ROOT / name).read_bytes(), name


def test_an_installed_wheel_answers_away_from_the_project_folder(installed_wheel, tmp_path):
    _, target = installed_wheel

    def kg(*args):
        # PYTHONPATH puts the installed copy before this checkout's editable install; the working
        # folder is empty, so nothing can come from the project folder.
        return subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin",
                                                 "HOME": str(tmp_path)})

    where = subprocess.run([sys.executable, "-c", "import kg.graph; print(kg.graph.FACTS_FILE)"],
                           capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target)})
    assert Path(where.stdout.strip()).is_relative_to(target), where.stdout + where.stderr
    # Article line 41: Nvidia invests up to $100B in OpenAI, which buys up to $350B of Nvidia GPUs.
    cycles = kg("cycles")
    assert cycles.returncode == 0, cycles.stderr
    assert "Nvidia → OpenAI → Nvidia" in cycles.stdout
    # Every quote is checked against its line of the bundled article: the source text came along too.
    checked = kg("validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every quote found in its line" in checked.stdout + checked.stderr
    # A stored query from the bundled queries/ folder, with a Chinese name as its parameter: line 41,
    # OpenAI buys up to $350B of Nvidia GPUs.
    money = kg("query", "money-into", "--param", "company=英伟达", "--format", "csv")
    assert money.returncode == 0, money.stderr
    assert any(row.startswith("OpenAI,") and ",350000000000," in row and ",41," in row
               for row in money.stdout.splitlines()), money.stdout
