#!/usr/bin/env python3
"""Headless notebook runner (nbclient).

Executes each notebook with the project's tslab kernel, fails on the first cell error (printing
the notebook, cell number, cell source head and the error text), and writes next to the
notebook's figures:
    <figures-root>/<experiment>/<notebook stem>.executed.ipynb   (signed, so scripts show when opened)
    <figures-root>/<experiment>/<notebook stem>.html             (nbconvert HTML export)
The executed copy and HTML are written even when a cell fails, to help debugging.

<experiment> is the notebook's metadata vmat.experiment (or the notebook stem); the environment
variable VMAT_EXPERIMENT overrides it when a single notebook is run. The notebook receives
VMAT_FIGURES_DIR pointing at that folder, plus everything already in the environment.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[2]


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cell_error_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts).strip() or "(the kernel reported an error without a message)"


def export_html(nb, target: Path) -> None:
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        print("run.py: nbconvert not installed: no HTML export", file=sys.stderr)
        return
    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(nb)
    atomic_write(target, body)


def sign(nb) -> None:
    try:
        from nbformat.sign import NotebookNotary
        NotebookNotary().sign(nb)
    except Exception as e:  # signing is a convenience (trusted outputs); never fail a run on it
        print(f"run.py: note: could not sign notebook ({e})", file=sys.stderr)


def run_one(path: Path, figures_root: Path, timeout: int, single: bool) -> bool:
    nb = nbformat.read(str(path), as_version=4)
    meta = nb.metadata.get("vmat", {})
    experiment = (os.environ.get("VMAT_EXPERIMENT") if single else None) or meta.get("experiment") or path.stem
    out_dir = (figures_root / experiment).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["VMAT_FIGURES_DIR"] = str(out_dir)
    os.environ["VMAT_NOTEBOOK"] = path.name
    kernel = nb.metadata.get("kernelspec", {}).get("name", "vmat-tslab")
    failed = {}

    def on_cell_error(cell, cell_index, execute_reply):
        failed["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply):
        print(f"  [{path.stem}] cell {cell_index + 1}/{len(nb.cells)} done", file=sys.stderr, flush=True)

    client = NotebookClient(
        nb, kernel_name=kernel, timeout=timeout, startup_timeout=120,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_error=on_cell_error, on_cell_executed=on_cell_executed,
    )
    t0 = time.time()
    ok = True
    try:
        client.execute()
    except CellExecutionError:
        ok = False
        i = failed.get("index")
        cell = nb.cells[i] if i is not None else None
        head = "\n".join(cell.source.splitlines()[:6]) if cell is not None else ""
        print(f"\nFAILED {path} — cell {i + 1 if i is not None else '?'} of {len(nb.cells)}:\n"
              f"---- cell source (head) ----\n{head}\n---- error ----\n{cell_error_text(cell) if cell is not None else ''}\n",
              file=sys.stderr)
    except CellTimeoutError as e:
        ok = False
        print(f"\nFAILED {path}: a cell exceeded the {timeout} s timeout ({e})", file=sys.stderr)
    except DeadKernelError as e:
        ok = False
        print(f"\nFAILED {path}: the kernel died ({e})", file=sys.stderr)
    stem = path.stem
    sign(nb)
    atomic_write(out_dir / f"{stem}.executed.ipynb", nbformat.writes(nb))
    export_html(nb, out_dir / f"{stem}.html")
    rel = os.path.relpath(out_dir, ROOT)
    print(f"{'ok' if ok else 'FAILED'}: {path.name} in {time.time() - t0:.1f} s -> {rel}/{stem}.executed.ipynb, {rel}/{stem}.html",
          file=sys.stderr, flush=True)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", help="notebook files to execute")
    ap.add_argument("--figures-root", default=os.environ.get("VMAT_FIGURES_ROOT", str(ROOT / "figures")),
                    help="folder that receives <experiment>/ (default: figures/)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("VMAT_CELL_TIMEOUT", "1800")),
                    help="per-cell timeout in seconds (default 1800)")
    ap.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    args = ap.parse_args()
    paths = [Path(p) for p in args.notebooks]
    for p in paths:
        if not p.is_file():
            print(f"run.py: no such notebook: {p}", file=sys.stderr)
            return 2
    failures = []
    for p in paths:
        if not run_one(p, Path(args.figures_root), args.timeout, single=len(paths) == 1):
            failures.append(p.name)
            if not args.keep_going:
                break
    if failures:
        print(f"run.py: {len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
