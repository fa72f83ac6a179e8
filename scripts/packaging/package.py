"""Build the deployable package: `python -m scripts.packaging.package [OUT_DIR]` (`make package`).

Runs `chalice package --stage prod` merged with `.chalice/resources.json` (the
tables, queues, alarms, parameters and everything else Chalice cannot
express), so OUT_DIR (default build/package) gets `sam.json` and
`deployment.zip`. Needs no AWS credentials: nothing here calls AWS. The
template test builds through this same function, so what CI checks is what
ships.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
RESOURCES = ".chalice/resources.json"
DEFAULT_OUT = ROOT / "build" / "package"
# `chalice package` builds a botocore session for the region it writes into
# ARNs; any region does, the template takes the real one from AWS::Region.
DEFAULT_REGION = "us-east-1"
# Chalice caches one ~45 MB zip per (requirements, source) hash and never
# deletes any, so every code change would add one; a few recent ones are kept.
CACHE = ROOT / ".chalice" / "deployments"
CACHE_KEEP = 3
# The template's Stage parameter: what `make package STAGE=…` may set as its default.
STAGE_PATTERN = re.compile(r"[a-z][a-z0-9]{0,11}")


@dataclass(frozen=True)
class Package:
    template: Path
    bundle: Path
    seconds: float

    def summary(self) -> str:
        resources = json.loads(self.template.read_text())["Resources"]
        size_mb = self.bundle.stat().st_size / 1_000_000
        return (
            f"{self.template} ({len(resources)} resources) and {self.bundle} ({size_mb:.1f} MB) in {self.seconds:.1f} s"
        )


def build(out: Path = DEFAULT_OUT) -> Package:
    # A stale sam.json next to a fresh zip would deploy a mismatch, so both go
    # first; only those two, whatever directory OUT_DIR names.
    for previous in (out / "sam.json", out / "deployment.zip"):
        previous.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION}
    # A profile named in the shell but absent from ~/.aws would stop botocore
    # before it writes a byte, and packaging needs no profile at all.
    env.pop("AWS_PROFILE", None)
    chalice = Path(sys.executable).with_name("chalice")
    started = time.monotonic()
    subprocess.run(
        [str(chalice), "package", "--stage", STAGE, "--merge-template", RESOURCES, str(out)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    compile_bytecode(out / "deployment.zip")
    package = Package(template=out / "sam.json", bundle=out / "deployment.zip", seconds=time.monotonic() - started)
    prune_cache()
    return package


def stage_problem(stage: str) -> str | None:
    if STAGE_PATTERN.fullmatch(stage):
        return None
    return f"stage {stage!r}: a lower-case letter, then up to 11 lower-case letters or digits"


def set_stage(template: Path, stage: str) -> None:
    """Makes `stage` the template's default Stage, so `sam deploy` without overrides deploys that stage
    (its tables, queues, API and user pool prefixed `leadcrm-<stage>`)."""
    problem = stage_problem(stage)
    if problem:
        raise ValueError(problem)
    document = json.loads(template.read_text())
    document["Parameters"]["Stage"]["Default"] = stage
    template.write_text(json.dumps(document, indent=2) + "\n")


def compile_bytecode(bundle: Path) -> None:
    """Ship .pyc files beside the sources.

    Lambda's code directory is read-only, so Python cannot cache bytecode there
    and would compile every module on every cold start (importing the app took
    534 ms from the bare package against 184 ms with bytecode). Unchecked-hash
    pycs are used as they are, without comparing against the source's mtime,
    which the zip does not keep faithfully anyway. This interpreter must be the
    runtime's minor version (chalice picks the runtime from it), so the magic
    number matches.
    """
    with tempfile.TemporaryDirectory(prefix="leadcrm-package-") as scratch:
        tree = Path(scratch) / "tree"
        with zipfile.ZipFile(bundle) as original:
            original.extractall(tree)
            modes = {info.filename: info.external_attr for info in original.infolist()}
        compileall.compile_dir(
            tree,
            quiet=2,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        rebuilt = Path(scratch) / "deployment.zip"
        with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as target:
            for path in sorted(tree.rglob("*")):
                if path.is_dir():
                    continue
                name = path.relative_to(tree).as_posix()
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                # Keep the modes chalice set (executables stay executable); new pycs are plain files.
                info.external_attr = modes.get(name, 0o644 << 16)
                target.writestr(info, path.read_bytes())
        shutil.move(rebuilt, bundle)


def prune_cache(keep: int = CACHE_KEEP) -> None:
    # Oldest first out: a build running next to this one has just written its
    # zip, so it is among the newest and survives.
    cached = sorted(CACHE.glob("*.zip"), key=_modified, reverse=True)
    for stale in cached[keep:]:
        stale.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by a neighbouring build meanwhile
        return 0.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.packaging.package")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help="output directory (build/package)")
    parser.add_argument("--stage", default=os.environ.get("STAGE") or None, help="the default Stage (prod)")
    args = parser.parse_args(argv)
    problem = stage_problem(args.stage) if args.stage is not None else None
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        package = build(args.out.resolve())
    except subprocess.CalledProcessError as failed:
        print(f"chalice package failed (exit {failed.returncode})", file=sys.stderr)
        return 1
    if args.stage is not None:
        set_stage(package.template, args.stage)
    print(f"packaged: {package.summary()}" + (f", stage {args.stage}" if args.stage else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
