"""Let a virtual environment see the packages of the Python that runs this script.

    python tools/share_site_packages.py VENV

``python -m venv --system-site-packages`` reaches only the base interpreter's packages. If the
interpreter that makes the environment is itself a virtual environment, the new environment does
not see that interpreter's packages. The lent GPU machines are such a case: their ``python3`` is
``/opt/torch/.venv/bin/python3``, which holds the CUDA torch. So ``make gpu-check`` would find no
torch in ``.venv-cuda`` and would try to download one, with no network there.

This script writes a ``.pth`` file into VENV's site-packages. The file adds this interpreter's
site-packages after VENV's own, so what VENV installs comes first and the rest (torch, pytest, ...)
comes from here, ``.pth`` files included. Both must run the same Python version.
"""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

NAME = "shared_site_packages.pth"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.split("\n\n")[1].strip())
    python = Path(sys.argv[1]) / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} does not exist: make the virtual environment first (python -m venv {sys.argv[1]})")
    asked = "import sys, sysconfig; print(sysconfig.get_paths()['purelib']); print(*sys.version_info[:2], sep='.')"
    purelib, version = subprocess.run([python, "-c", asked], capture_output=True, text=True, check=True).stdout.split()
    here = ".".join(map(str, sys.version_info[:2]))
    if version != here:
        raise SystemExit(f"{python} runs Python {version}, this interpreter {here}: their packages do not mix")
    directories = [path for path in site.getsitepackages() if Path(path).is_dir()]
    line = "import site; " + "; ".join(f"site.addsitedir({path!r})" for path in directories)
    (Path(purelib) / NAME).write_text(line + "\n")
    print(f"{Path(purelib) / NAME}: {', '.join(directories)}")


if __name__ == "__main__":
    main()
