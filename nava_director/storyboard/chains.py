"""Continuation chains, and how they are shared out between groups of ranks.

Shots joined by ``continue_from`` form a chain (a tree: one shot may be continued by
several): a continued shot needs its upstream shot's take, so a chain renders in render
order on one group. Different chains share nothing and render side by side on different
groups. Chains are dealt out longest first (in frames) to the least loaded group, so
every rank computes the same assignment from the plan alone.
"""

from __future__ import annotations

from nava_director.storyboard.plan import RenderPlan, ShotJob


def chains(plan: RenderPlan) -> list[list[ShotJob]]:
    """The plan's continuation chains, each in render order; chains ordered by their first shot."""
    root: dict[str, str] = {}
    by_root: dict[str, list[ShotJob]] = {}
    for job in plan.jobs:  # render order: an upstream shot comes before its continuations
        root[job.shot] = root[job.continue_from] if job.continue_from else job.shot
        by_root.setdefault(root[job.shot], []).append(job)
    return list(by_root.values())


def assign(plan: RenderPlan, groups: int) -> list[list[ShotJob]]:
    """Each group's shots, in render order: whole chains, balanced by frames."""
    load = [0] * groups
    shots: list[list[ShotJob]] = [[] for _ in range(groups)]
    for chain in sorted(chains(plan), key=lambda c: -sum(job.frames for job in c)):  # stable: ties keep plan order
        group = load.index(min(load))
        load[group] += sum(job.frames for job in chain)
        shots[group].extend(chain)
    order = {job.shot: i for i, job in enumerate(plan.jobs)}
    return [sorted(group_shots, key=lambda job: order[job.shot]) for group_shots in shots]
