"""CPU accounting for the benchmarks (Linux /proc): what one message costs, independent of how busy
the machine is. Used by bench/inbound.py, bench/outbound.py and bench/providers.py."""

import os
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, user + system CPU seconds so far) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return found


def tree_cpu(root: int, processes: dict | None = None) -> dict[int, float]:
    """CPU seconds so far of `root` and each of its descendants, by pid."""
    processes = processes if processes is not None else _processes()
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, (parent, _) in processes.items() if parent == pid and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return {pid: processes[pid][1] for pid in tree if pid in processes}


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its descendants."""
    return sum(tree_cpu(root).values())


def cpu_snapshot(roots: dict[str, int], database_url: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process tree (web, worker, ...) and of PostgreSQL's backends of the bench DB."""
    import psycopg

    processes = _processes()
    snap = {name: tree_cpu(root, processes) for name, root in roots.items()}
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
    snap["postgres"] = {p: processes[p][1] for p in pids if p in processes}
    return snap


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    return {part: sum(after[part][p] - before.get(part, {}).get(p, 0.0) for p in after[part]) for part in after}
