"""`skillware lock`: record what was reviewed (bundle files, image digests) in skillware.lock."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import click

from .options import all_skills_dirs, skills_dir_option


@click.command()
@click.argument("skills", nargs=-1)
@click.option("--all", "all_skills", is_flag=True, help="Lock every skill of every root.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Operator policy file (for the default image).")
@skills_dir_option
@click.pass_context
def lock(ctx: click.Context, skills: tuple[str, ...], all_skills: bool, policy_path: Optional[str],
         skills_dirs: tuple[str, ...]) -> None:
    """Write skillware.lock (or SKILLWARE_LOCK) for SKILLs: run then refuses anything that differs."""
    from ..bundle import iter_bundles, resolve, skill_roots
    from ..engine import ENGINES, probe_engine
    from ..errors import EngineError, UsageError
    from ..images import image_digest, image_for
    from ..lockfile import lock_entry, lock_path, write_lock
    from ..manifest import load_manifest
    from ..policy_file import load_policy

    if not skills and not all_skills:
        raise UsageError("name the skills to lock, or pass --all", "e.g. skillware lock compliance/example_skill")
    roots = skill_roots(all_skills_dirs(ctx, skills_dirs))
    bundles = [resolve(s, roots) for s in skills]
    if all_skills:
        bundles += [b for b, shadowed in iter_bundles(roots) if not shadowed]
    policy = load_policy(policy_path)
    probes = []
    for name in ENGINES:
        try:
            probes.append(probe_engine(name))
        except EngineError:
            continue
    entries: Dict[str, Dict[str, Any]] = {}
    for bundle in bundles:
        manifest = load_manifest(bundle)
        image: Optional[str] = None
        digests: Dict[str, str] = {}
        missing: List[str] = []
        for probe in probes:
            image = image_for(bundle, manifest, probe, policy)
            try:
                digests[probe.name] = image_digest(probe, image)
            except EngineError:
                missing.append(probe.name)
        if image is None:
            image = manifest.container.image or policy.image
        entries[bundle.id] = lock_entry(bundle, manifest, image, digests)
        note = f" (image missing in {', '.join(missing)})" if missing else ""
        click.echo(f"locked {bundle.id}: {entries[bundle.id]['bundle'][:19]}…, "
                   f"{len(digests)} image digest(s){note}", err=True)
    path = lock_path()
    write_lock(path, entries)
    click.echo(str(path))
