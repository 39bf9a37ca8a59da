"""The public API is what __all__ says, and nothing is missing from it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import dedup


def test_the_public_api() -> None:
    assert sorted(dedup.__all__) == [
        "Baseline",
        "CheckOptions",
        "CheckReport",
        "CleanOptions",
        "CleanResult",
        "DedupError",
        "Index",
        "InputError",
        "KeepBy",
        "LSHOptions",
        "MinHashOptions",
        "NoDocumentsError",
        "OptionsError",
        "OutputError",
        "ReadOptions",
        "ScanOptions",
        "ScanResult",
        "ScanStats",
        "SegmentOptions",
        "ShingleOptions",
        "check",
        "clean",
        "index_add",
        "load",
        "normalize",
        "restore",
        "scan",
    ]
    for name in dedup.__all__:
        assert getattr(dedup, name) is not None


def test_errors_form_one_tree() -> None:
    for error in (dedup.InputError, dedup.NoDocumentsError, dedup.OptionsError, dedup.OutputError):
        assert issubclass(error, dedup.DedupError)
    assert issubclass(dedup.OptionsError, ValueError)


def _run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


HEAVY = ("polars", "numpy", "numba", "pyarrow", "dedup._kernels")


def test_import_and_help_load_no_heavy_module() -> None:
    """``import dedup`` and ``dedup --help`` (a pre-commit hook's start-up) leave polars and the kernels unloaded."""
    loaded = _run_python(
        "import sys, contextlib, io\n"
        "import dedup\n"
        "from dedup.cli import app\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    app(['--help'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    assert loaded == "[]"


def test_a_heavy_name_loads_on_first_use() -> None:
    assert _run_python("import sys, dedup; dedup.ScanResult; print('polars' in sys.modules)") == "True"


def test_check_clean_and_normalize_stay_functions_when_their_modules_are_imported() -> None:
    """The three functions share their module's name; importing the module must not replace the function."""
    kinds = _run_python(
        "import dedup.check, dedup.clean, dedup.normalize\n"
        "from dedup.check import renderer\n"
        "import dedup\n"
        "print(dedup.check.__name__, dedup.clean.__name__, dedup.normalize('A  b'), type(dedup.check).__name__)"
    )
    assert kinds == "check clean a b function"


def test_dir_lists_the_lazy_names() -> None:
    assert set(dedup.__all__) <= set(dir(dedup))
    assert "__version__" in dir(dedup)


def test_a_scan_does_not_import_pandas_or_scipy_sparse(tmp_path: Path) -> None:
    """pyarrow imports pandas whenever ``pa.array`` or ``Array.to_numpy`` runs and pandas is installed (the
    ``[spark]`` extra brings it): seconds of a scan's CPU under the GIL. The scan's path must not call them,
    nor import scipy.sparse, which only the HTML report uses (0.3 s)."""
    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed, so nothing could import it")
    lines = tmp_path / "pages.jsonl"
    paragraph = "A paragraph long enough to be shingled and matched near its copy, word after word. "
    lines.write_text(
        "".join(json.dumps({"id": str(i), "text": paragraph * (1 + i % 3)}) + "\n" for i in range(50)),
        encoding="utf-8",
    )
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    loaded = _run_python(
        "import sys, dedup\n"
        f"dedup.scan([{str(seeds)!r}, {str(lines)!r}], out={str(tmp_path / 'scan')!r})\n"
        "print('pandas' in sys.modules, 'scipy.sparse' in sys.modules)"
    )
    assert loaded == "False False"


def test_a_command_line_scan_does_not_import_scipy_linalg_and_scipy_still_imports_after(tmp_path: Path) -> None:
    """numba asks scipy.linalg whether it has BLAS when it loads (0.2-0.4 s); the command line loads numba
    with that module marked missing (``_kernels.load_numba_without_blas``), and the mark must not outlive it."""
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    loaded = _run_python(
        "import sys\n"
        "from dedup.cli import main\n"
        f"sys.argv = ['dedup', 'scan', {str(seeds)!r}, '--out', {str(tmp_path / 'scan')!r}, '-q']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "before = 'scipy.linalg' in sys.modules\n"
        "import scipy.linalg.cython_blas\n"
        "print(before, sys.modules['scipy.linalg.cython_blas'] is not None)"
    )
    assert loaded.splitlines()[-1] == "False True"  # after the scan's report
    assert (tmp_path / "scan" / "blocks.parquet").is_file()
