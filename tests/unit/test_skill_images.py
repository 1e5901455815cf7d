"""container.build paths that cannot name a Dockerfile in the bundle: a one-line bundle error."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from skillware.bundle import resolve
from skillware.engine import EngineProbe
from skillware.errors import BundleError
from skillware.images import build_skill_image
from skillware.manifest import load_manifest

MakeBundle = Callable[..., Path]
PODMAN = EngineProbe(name="podman", path="/nonexistent/podman", version="4.3.1", rootless=False, cgroup_version="v2",
                     cgroup_manager="systemd", default_runtime="runc", runtimes=("runc",), seccomp=True,
                     controllers=("memory", "pids", "cpu"))


@pytest.mark.parametrize("build", ["x" * 3000, "missing/Dockerfile", "data"])
def test_a_build_path_that_is_no_dockerfile_in_the_bundle_is_a_bundle_error(make_bundle: MakeBundle,
                                                                            skills_root: Path, build: str) -> None:
    make_bundle("img/box", f"name: img/box\nexecution: container\ncontainer:\n  build: '{build}'\n",
                files={"data/x.txt": "x"})
    bundle = resolve("img/box", [skills_root])
    with pytest.raises(BundleError) as caught:
        build_skill_image(bundle, load_manifest(bundle), PODMAN, "localhost/x:1")
    assert "is not a file in the bundle" in caught.value.one_line()
