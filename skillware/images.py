"""Images: the default Python base image (built without a registry) and per-skill built images."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from .bundle import Bundle
from .bundle_hash import bundle_hash
from .container_spec import bundle_image_tag
from .engine import EngineProbe
from .engine_cli import engine_env, run_engine
from .errors import BundleError, EngineError, ImageNotFound
from .manifest import Manifest
from .policy import Policy

BASE_IMAGE = "localhost/skillware-python:3.11"
BASE_SUITE = "bookworm"  # Debian 12 ships Python 3.11
BASE_PACKAGES = ("python3", "jq")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
Progress = Callable[[str], None]


def debian_mirror() -> str:
    """The Debian mirror apt already uses (deb822 .sources files or sources.list), else deb.debian.org."""
    candidates: List[str] = []
    folder = Path("/etc/apt/sources.list.d")
    for path in sorted(folder.glob("*.sources")) if folder.is_dir() else []:
        text = path.read_text(errors="replace")
        for stanza in text.split("\n\n"):
            if re.search(rf"^Suites:.*\b{BASE_SUITE}\b", stanza, re.M):
                match = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if match and "security" not in match.group(1):
                    candidates.append(match.group(1))
    for path in [Path("/etc/apt/sources.list"), *sorted(folder.glob("*.list"))] if folder.is_dir() else []:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb" and BASE_SUITE in parts and "security" not in line:
                    candidates.append(next(p for p in parts[1:] if "://" in p))
    debian = [c for c in candidates if "debian" in c]
    return (debian or [DEFAULT_MIRROR])[0]


def image_exists(probe: EngineProbe, image: str) -> bool:
    argv = [probe.path, "image", "exists", image] if probe.name == "podman" else \
        [probe.path, "image", "inspect", "--format", "{{.Id}}", image]
    return run_engine(argv, timeout=60).returncode == 0


def image_digest(probe: EngineProbe, image: str) -> str:
    """The local image id (sha256:…) an image name resolves to."""
    from .image_ids import lookup

    ident = lookup(probe.path, image, probe.image_index)
    if ident is None:
        raise ImageNotFound(f"image {image!r} is not in {probe.name}'s local store",
                            "build it: skillware image build-base (or skillware build SKILL)")
    return ident


def image_for(bundle: Bundle, manifest: Manifest, probe: EngineProbe, policy: Policy) -> str:
    """The image a run uses: built from the bundle (built now if missing), named, or the default."""
    if manifest.container.build:
        tag = bundle_image_tag(bundle, bundle_hash(bundle.path))
        if not image_exists(probe, tag):
            build_skill_image(bundle, manifest, probe, tag)
        return tag
    return manifest.container.image or policy.image


def build_skill_image(bundle: Bundle, manifest: Manifest, probe: EngineProbe, tag: str,
                      progress: Optional[Progress] = None) -> str:
    """Build the bundle's Dockerfile into `tag` (no pulls, no network during the build)."""
    try:
        dockerfile = (bundle.path / str(manifest.container.build)).resolve()
        usable = bundle.path in dockerfile.parents and dockerfile.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL …
        usable = False
    if not usable:
        raise BundleError(f"{bundle.id}: container.build {manifest.container.build!r} is not a file in the bundle",
                          "point container.build at a Dockerfile inside the bundle")
    pull = ["--pull=never"] if probe.name == "podman" else []
    argv = [probe.path, "build", *pull, "--network", "none", "-f", str(dockerfile), "-t", tag,
            "--label", "io.skillware.bundle=" + bundle.id, str(bundle.path)]
    _stream(argv, progress, f"building {tag}")
    return tag


def _stream(argv: Sequence[str], progress: Optional[Progress], what: str) -> None:
    if progress:
        progress(f"{what}: {' '.join(argv)}")
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=engine_env())
    assert proc.stdout is not None
    tail: List[str] = []
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        tail = (tail + [line])[-5:]
        if progress:
            progress(line)
    if proc.wait() != 0:
        raise EngineError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)[-400:]}",
                          "see the output above")


def build_rootfs_tar(target: Path, mirror: str, progress: Optional[Progress] = None) -> None:
    """A minimal Debian root filesystem with Python, as a tar file (mmdebstrap, else debootstrap)."""
    include = ",".join(BASE_PACKAGES)
    if shutil.which("mmdebstrap"):
        mode = "root" if os.geteuid() == 0 else "unshare"
        _stream(["mmdebstrap", f"--mode={mode}", "--variant=minbase", f"--include={include}",
                 "--aptopt=Acquire::Retries \"3\"", BASE_SUITE, str(target), mirror], progress, "mmdebstrap")
        return
    if shutil.which("debootstrap") and os.geteuid() == 0:
        with tempfile.TemporaryDirectory(prefix="skillware-rootfs-") as root:
            _stream(["debootstrap", "--variant=minbase", f"--include={include}", BASE_SUITE, root, mirror],
                    progress, "debootstrap")
            _stream(["tar", "-C", root, "-cf", str(target), "."], progress, "tar")
        return
    raise EngineError("neither mmdebstrap nor debootstrap (as root) is available to build the base image",
                      "apt-get install mmdebstrap")


def build_base_image(probes: Sequence[EngineProbe], tag: str = BASE_IMAGE, mirror: Optional[str] = None,
                     progress: Optional[Progress] = None) -> None:
    """Build the default Python image from the Debian mirror and import it into each engine."""
    mirror = mirror or debian_mirror()
    with tempfile.TemporaryDirectory(prefix="skillware-base-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        build_rootfs_tar(tar, mirror, progress)
        for probe in probes:
            _stream([probe.path, "import", "--change", 'CMD ["python3"]', str(tar), tag], progress,
                    f"importing into {probe.name}")
