"""CLI start-up benchmark: how long `auditpack --help`, every command's `--help` and `auditpack verify FILE` take,
each in a fresh process, against importing Typer and Rich (`python -c "import typer, rich"`) in the same run.

    .venv/bin/python bench/cli_startup.py [--repeat 7] [--packet FILE]... [--data-dir DIR]

Prints each command's median wall time and its ratio to the baseline: the median, over the rounds, of its time
divided by the baseline's time measured just before it, so that a busy (shared) machine slows both alike. The
target is every ratio <= 3. Two more lines put the figures in context (not targets): a two-command Typer app's
`CMD --help` (what Typer's own help rendering costs) and importing pyHanko's validation (what `verify FILE` cannot
start without).

Without --packet, `verify FILE` checks the 1,000-item packet and bundle of bench/packet.py (built on first use,
about 15 s), trusting the local CA in bench/out/data; with --packet, give the packets' data directory (or
AUDITPACK_DATA_DIR) so that their signer is trusted. A verification that fails is reported, not timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditpack.cli.app import command_paths  # noqa: E402

OUT = ROOT / "bench" / "out"
TARGET = 3.0
BARE_APP = '''
import typer
app = typer.Typer(add_completion=False)
@app.command()
def hello(name: str = typer.Option("world", "--name", help="Who to greet.")) -> None:
    """Say hello."""
@app.command()
def bye() -> None:
    """Say goodbye."""
app()
'''


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-1000:]}")
    return elapsed


def default_packets() -> list[Path]:
    packets = [OUT / "packets" / "packet-1000.pdf", OUT / "packets" / "bundle-1000.zip"]
    if not all(p.exists() for p in packets):
        print("building the 1,000-item packet and bundle with bench/packet.py ...", file=sys.stderr)
        build = [sys.executable, str(ROOT / "bench" / "packet.py"), "--sizes", "1000", "--runs", "1", "--bundle"]
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL)
    return packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="rounds; each figure is the median of this many")
    parser.add_argument("--packet", type=Path, action="append", default=[], help="packet PDF or bundle to verify")
    parser.add_argument("--data-dir", type=Path, help="AUDITPACK_DATA_DIR for verify (default: bench/out/data)")
    options = parser.parse_args()
    packets = options.packet or default_packets()
    data_dir = options.data_dir or (None if options.packet else OUT / "data")

    python = sys.executable
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if data_dir is not None:
        env["AUDITPACK_DATA_DIR"] = str(data_dir.resolve())
    with tempfile.TemporaryDirectory() as scratch:
        bare = Path(scratch) / "bare_typer_app.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        baseline = [python, "-c", "import typer, rich"]
        commands = {
            " ".join(["auditpack", *path, "--help"]): [python, "-m", "auditpack", *path, "--help"]
            for path in command_paths()
        }
        commands.update({f"auditpack verify {p.name}": [python, "-m", "auditpack", "verify", str(p)] for p in packets})
        context = {
            "two-command Typer app: hello --help": [python, str(bare), "hello", "--help"],
            "import pyhanko.sign.validation": [python, "-c", "import pyhanko.sign.validation"],
        }
        times: dict[str, list[float]] = {name: [] for name in [*commands, *context]}
        ratios: dict[str, list[float]] = {name: [] for name in times}
        baselines: list[float] = []
        for _ in range(options.repeat):
            for name, command in {**commands, **context}.items():
                base = wall(baseline, env)
                took = wall(command, env)
                baselines.append(base)
                times[name].append(took)
                ratios[name].append(took / base)
    print(
        f"baseline: python -c 'import typer, rich': median {statistics.median(baselines):.3f} s "
        f"({len(baselines)} runs, one before each measured command); {options.repeat} rounds"
    )
    print(f"{'command':<52} {'median s':>8} {'x base':>7}")
    for name in commands:
        ratio = statistics.median(ratios[name])
        flag = "" if ratio <= TARGET else "  over target"
        print(f"{name:<52} {statistics.median(times[name]):>8.3f} {ratio:>7.2f}{flag}")
    helps = [statistics.median(ratios[n]) for n in commands if n.endswith("--help")]
    verifies = [statistics.median(ratios[n]) for n in commands if not n.endswith("--help")]
    print(
        f"--help of {len(helps)} commands: median ratio {statistics.median(helps):.2f}, worst {max(helps):.2f}; "
        f"verify FILE: worst {max(verifies):.2f} (target <= {TARGET:g})"
    )
    print("context (not targets):")
    for name in context:
        print(f"  {name:<50} {statistics.median(times[name]):>8.3f} {statistics.median(ratios[name]):>7.2f}")


if __name__ == "__main__":
    main()
