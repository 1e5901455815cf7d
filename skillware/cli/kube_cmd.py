"""`skillware kube render`: a skill run as Kubernetes objects (Job, NetworkPolicy, ConfigMaps) on stdout."""

from __future__ import annotations

from typing import Optional

import click

from .options import all_skills_dirs, skills_dir_option


@click.group()
def kube() -> None:
    """Run skills on Kubernetes (see docs/kubernetes.md)."""


@kube.command()
@click.argument("skill")
@click.option("--params", "params_spec", metavar="JSON", help="Params: inline JSON, @file.json, or - for stdin.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Operator policy file (default: ./skillware.yaml, then ~/.config/skillware/policy.yaml).")
@click.option("--namespace", default="default", show_default=True, help="Namespace of every object.")
@click.option("--image", help="Image to run (policy allowed_images applies; default: manifest, then policy).")
@click.option("--pod", "as_pod", is_flag=True, help="A Pod instead of a Job (podman kube play takes no Jobs).")
@skills_dir_option
@click.pass_context
def render(ctx: click.Context, skill: str, params_spec: Optional[str], policy_path: Optional[str], namespace: str,
           image: Optional[str], as_pod: bool, skills_dirs: tuple[str, ...]) -> None:
    """Print SKILL's run as YAML for `kubectl apply -f -`: ConfigMaps, a deny-all NetworkPolicy and a Job."""
    from ..api import prepare
    from ..kube import plan_for_kubernetes, pod_from_job, read_bundle_files, render_objects, to_yaml
    from ..params import read_params, validate_params
    from ..policy_file import load_policy

    policy = load_policy(policy_path)
    bundle, manifest = prepare(skill, all_skills_dirs(ctx, skills_dirs))
    params = read_params(params_spec)
    validate_params(manifest, params)
    spec = plan_for_kubernetes(bundle, manifest, policy, image)
    objects = render_objects(spec, manifest, read_bundle_files(bundle), params, namespace)
    if as_pod:
        objects[-1] = pod_from_job(objects[-1])
    click.echo(to_yaml(objects), nl=False)
