"""Cold start: what importing the app costs on top of the libraries it is
built on, and what the deployment package weighs.

1. Import time, from the working tree. Fresh interpreters, `--runs` times
   each (default 15), alternating so machine noise hits both alike:
   `import app` against the bare `import boto3, pynamodb.models, pydantic,
   chalice` (PynamoDB's models module: `import pynamodb` alone loads little
   more than a version string). One import first writes the bytecode
   caches, so compiling is not counted here. Medians of wall and CPU time;
   the ratio of the CPU medians is judged against `--target` (1.3), CPU time
   being the steadier of the two on a shared machine.
2. Lazy imports: `import app` must not load numpy, the scoring trainer or
   LLM scorer, boto3, PyJWT and cryptography, the phone and e-mail
   libraries or Powertools' batch utilities (exit 1 if it does).
3. The package: `chalice package --stage prod` into a temporary directory
   (or `--zip PATH`, e.g. `build/package/deployment.zip` from `make
   package`): zipped and unzipped size and the ten largest top-level
   packages. Then `import app` from the unzipped package as Lambda runs it:
   `/var/task` is read-only, so every module the package ships without
   bytecode is compiled again on every cold start; and the same package
   with its bytecode compiled in advance, for comparison.

    python -m bench.cold_start [--runs 15] [--package-runs 7] [--zip PATH]
        [--no-package] [--target 1.3] [--strict]

`--strict` exits 1 when the ratio is above the target (timing on a busy
machine can be; by default the verdict is only printed).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scripts.packaging.lazy_imports import MUST_STAY_LAZY

ROOT = Path(__file__).resolve().parent.parent
APP = "app"
BARE = "boto3, pynamodb.models, pydantic, chalice"
# AWS Lambda's limits for a function's code (zip uploaded directly / unzipped).
ZIP_LIMIT_MB = 50
UNZIPPED_LIMIT_MB = 250

_PROBE = """
import json, time
wall, cpu = time.perf_counter(), time.process_time()
import {modules}
print(json.dumps({{"wall": (time.perf_counter() - wall) * 1000, "cpu": (time.process_time() - cpu) * 1000}}))
"""


@dataclass(frozen=True)
class Timing:
    wall_ms: float
    cpu_ms: float


def _environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


def _import_once(modules: str, cwd: Path, env: dict[str, str]) -> Timing:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(modules=modules)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`import {modules}` failed in {cwd}:\n{done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return Timing(measured["wall"], measured["cpu"])


def _median(samples: list[Timing]) -> Timing:
    return Timing(statistics.median(s.wall_ms for s in samples), statistics.median(s.cpu_ms for s in samples))


def compare_imports(runs: int, cwd: Path, env: dict[str, str]) -> tuple[Timing, Timing]:
    """Medians of `import app` and the bare imports, alternated run by run."""
    app: list[Timing] = []
    bare: list[Timing] = []
    for _ in range(runs):
        app.append(_import_once(APP, cwd, env))
        bare.append(_import_once(BARE, cwd, env))
    return _median(app), _median(bare)


def loaded_eagerly() -> list[str]:
    probe = f"import sys, json, app; print(json.dumps([m for m in {list(MUST_STAY_LAZY)!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=_environment(), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the package -----------------------------------------------------------


def build_package(out: Path) -> Path:
    chalice = Path(sys.executable).with_name("chalice")
    env = _environment(AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    # A profile named in the shell but absent from ~/.aws stops botocore; packaging calls no AWS API.
    env.pop("AWS_PROFILE", None)
    subprocess.run(
        [str(chalice), "package", "--stage", "prod", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "deployment.zip"


@dataclass(frozen=True)
class Contents:
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    bytecode_files: int
    largest: list[tuple[str, int, int]]  # (top-level name, unzipped, compressed)


def contents(bundle: Path, top: int = 10) -> Contents:
    with zipfile.ZipFile(bundle) as archive:
        entries = [entry for entry in archive.infolist() if not entry.is_dir()]
    unzipped: Counter[str] = Counter()
    compressed: Counter[str] = Counter()
    for entry in entries:
        name = entry.filename.split("/", 1)[0]
        unzipped[name] += entry.file_size
        compressed[name] += entry.compress_size
    return Contents(
        zipped_bytes=bundle.stat().st_size,
        unzipped_bytes=sum(unzipped.values()),
        files=len(entries),
        bytecode_files=sum(entry.filename.endswith(".pyc") for entry in entries),
        largest=[(name, size, compressed[name]) for name, size in unzipped.most_common(top)],
    )


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def compile_bytecode(directory: Path) -> tuple[int, int]:
    """Compiles every module in place as a build step would; returns (bytes
    added, their compressed size). Unchecked hashes: the zip's timestamps
    then do not matter."""
    before = {path for path in directory.rglob("*.pyc")}
    compileall.compile_dir(
        directory, quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    added = [path for path in directory.rglob("*.pyc") if path not in before]
    raw = compressed = 0
    for path in added:
        data = path.read_bytes()
        raw += len(data)
        compressed += len(zlib.compress(data, 6))
    return raw, compressed


def package_imports(bundle: Path, runs: int) -> tuple[Timing, Timing, Timing, tuple[int, int]]:
    """`import app` from the unzipped package, as Lambda would: the package
    first on the path (its botocore shadows any other), boto3 from outside
    it (the runtime provides it), nothing written back. Without, then with
    bytecode compiled in advance; and the bare imports for scale."""
    with tempfile.TemporaryDirectory(prefix="leadcrm-task-") as task:
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(task)
        env = _environment(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=os.pathsep.join([task, _site_packages()]))
        # Bytecode is looked up next to the modules, as in Lambda, not in a cache elsewhere.
        env.pop("PYTHONPYCACHEPREFIX", None)
        cold: list[Timing] = []
        bare: list[Timing] = []
        for _ in range(runs):
            cold.append(_import_once(APP, Path(task), env))
            bare.append(_import_once(BARE, Path(task), env))
        added = compile_bytecode(Path(task))
        compiled = [_import_once(APP, Path(task), env) for _ in range(runs)]
        return _median(cold), _median(compiled), _median(bare), added


# --- report ----------------------------------------------------------------


def _mb(size: float) -> str:
    return f"{size / 1_000_000:.1f} MB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per import (median)")
    parser.add_argument("--package-runs", type=int, default=7, help="the same, importing from the package")
    parser.add_argument("--zip", type=Path, help="measure this deployment.zip instead of building one")
    parser.add_argument("--no-package", action="store_true", help="import times only")
    parser.add_argument("--target", type=float, default=1.3, help="acceptable app / bare import time")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the ratio is above the target")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="leadcrm-pycache-") as pycache:
        # Caches in a directory of our own: written even where the shell says
        # PYTHONDONTWRITEBYTECODE, and never into the working tree.
        env = _environment(PYTHONPYCACHEPREFIX=pycache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        _import_once(APP, ROOT, env)  # writes the bytecode caches; not counted
        _import_once(BARE, ROOT, env)
        app, bare = compare_imports(args.runs, ROOT, env)
    ratio = app.cpu_ms / bare.cpu_ms
    verdict = "within target" if ratio <= args.target else "ABOVE TARGET"
    print(f"Import time, working tree, median of {args.runs} fresh interpreters (bytecode cached)")
    print(f"  {'import':<46} {'wall ms':>8} {'cpu ms':>8}")
    print(f"  {'app':<46} {app.wall_ms:8.1f} {app.cpu_ms:8.1f}")
    print(f"  {BARE:<46} {bare.wall_ms:8.1f} {bare.cpu_ms:8.1f}")
    wall_ratio = app.wall_ms / bare.wall_ms
    print(f"  ratio app / bare (cpu): {ratio:.2f}  (wall {wall_ratio:.2f}; target {args.target}): {verdict}")

    eager = loaded_eagerly()
    print(f"  loaded by `import app` that must stay lazy: {', '.join(eager) if eager else 'none'}")

    if not args.no_package:
        with tempfile.TemporaryDirectory(prefix="leadcrm-package-") as out:
            bundle = args.zip.resolve() if args.zip else build_package(Path(out))
            found = contents(bundle)
            print(f"\nPackage {bundle if args.zip else 'chalice package --stage prod'}")
            print(f"  zipped   {_mb(found.zipped_bytes):>9}  (Lambda: {ZIP_LIMIT_MB} MB uploaded directly)")
            print(f"  unzipped {_mb(found.unzipped_bytes):>9}  (Lambda: {UNZIPPED_LIMIT_MB} MB)")
            print(f"  files    {found.files:>9}  of which bytecode (.pyc): {found.bytecode_files}")
            print(f"  {'largest top-level entries':<40} {'unzipped':>10} {'zipped':>10}")
            for name, size, packed in found.largest:
                print(f"  {name:<40} {_mb(size):>10} {_mb(packed):>10}")
            cold, compiled, task_bare, (pyc_raw, pyc_packed) = package_imports(bundle, args.package_runs)
            print(f"\n  import app from the unzipped package, median of {args.package_runs} (read-only, as in Lambda)")
            how = "bytecode included" if found.bytecode_files else "compiled every cold start"
            shipped = f"as shipped ({how})"
            print(f"  {shipped:<46} {cold.wall_ms:8.1f} {cold.cpu_ms:8.1f}")
            ahead = "with every missing .pyc compiled in advance"
            print(f"  {ahead:<46} {compiled.wall_ms:8.1f} {compiled.cpu_ms:8.1f}")
            print(f"  {'bare imports, as shipped':<46} {task_bare.wall_ms:8.1f} {task_bare.cpu_ms:8.1f}")
            print(f"  missing bytecode would add {_mb(pyc_raw)} unzipped, about {_mb(pyc_packed)} zipped")

    if eager:
        return 1
    return 1 if args.strict and ratio > args.target else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
