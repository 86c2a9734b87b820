"""``flask inventory import FILE [--dry-run]`` and ``flask inventory export FILE``.

Import prints one ``row N, column C: message`` line per problem on stderr and exits with
status 1 (nothing written), or the created/updated/unchanged counts. Progress goes to stderr.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask

from supervisor.core import audit
from supervisor.inventory import importer as inventory


def _progress_printer(enabled: bool):
    """A progress callback that rewrites one stderr line, at most ~5 times a second."""
    last = [0.0]

    def show(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not enabled or (now - last[0] < 0.2 and done < total):
            return
        last[0] = now
        pct = 100 * done // total if total else 100
        click.echo(f"\r{stage:9} {done:>7}/{total:<7} {pct:3d}%", err=True, nl=False)
        if done >= total:
            click.echo("", err=True)

    return show


@click.group("inventory", help="Import and export the device inventory.")
def inventory_cli() -> None:
    pass


@inventory_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count; write nothing.")
@click.option("--create-contracts", is_flag=True,
              help="Create contracts whose code is unknown (else an unknown code is an error).")
@click.option("--contractor", default=None,
              help="Contractor for created contracts when the file has no contractor column.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def import_cmd(file: Path, dry_run: bool, create_contracts: bool, contractor: str | None,
               quiet: bool) -> None:
    """Imports FILE (.csv or .xlsx; English or Chinese headers) in one transaction."""
    progress = _progress_printer(not quiet and sys.stderr.isatty())
    started = time.monotonic()
    plan = inventory.parse_upload(file.name, file.read_bytes(), create_contracts=create_contracts,
                                  contractor=contractor, progress=progress)
    for w in plan.warnings[:inventory.MAX_ERRORS]:
        click.echo(f"warning: {w}", err=True)
    source = plan.encoding + (f", sheet {plan.sheet!r}" if plan.sheet else "")
    if not plan.ok:
        for line in plan.error_lines():
            click.echo(line, err=True)
        click.echo(f"{file.name}: {len(plan.errors)} problem(s); nothing was imported", err=True)
        raise SystemExit(1)
    if dry_run:
        click.echo(f"dry run ({source}, {plan.header_language} headers, "
                   f"{len(plan.rows)} rows): would be {plan.counts}")
        return
    try:
        counts = inventory.apply_plan(plan, audit.cli_actor(), progress=progress)
    except inventory.ImportRejected as exc:
        for e in exc.errors:
            click.echo(str(e), err=True)
        click.echo(f"{file.name}: nothing was imported", err=True)
        raise SystemExit(1)
    click.echo(f"imported {file.name} ({source}, {len(plan.rows)} rows, "
               f"{time.monotonic() - started:.1f} s): {counts}")


@inventory_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Default: from the file name's extension, else csv.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Header language.")
def export_cmd(file: Path, fmt: str | None, lang: str) -> None:
    """Writes every device to FILE (never passwords or SNMP communities)."""
    fmt = fmt or ("xlsx" if file.suffix.lower() == ".xlsx" else "csv")
    data = inventory.export_devices(fmt, lang=lang)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(file)
    click.echo(f"exported to {file} ({fmt}, {len(data)} bytes)")


@inventory_cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="zh",
              help="zh: bilingual headers (中文 / english); en: English headers.")
def template_cmd(file: Path, lang: str) -> None:
    """Writes an empty inventory file (.xlsx or .csv) with one example row to replace."""
    fmt = "csv" if file.suffix.lower() == ".csv" else "xlsx"
    file.write_bytes(inventory.template(fmt, lang))
    click.echo(f"template written to {file}")


def init_app(app: Flask) -> None:
    app.cli.add_command(inventory_cli)
