"""Rich tables for the terminal."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.table import Table

from cli.pipeline import ScheduleRun
from cluster.config import ClusterConfig
from cluster.summary import connection_point_peaks, energy_totals

#: Connection points listed in the summary; the rest are counted.
PEAK_ROWS = 10


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def schedule_summary(run: ScheduleRun) -> Group:
    """The summary of a schedule run: costs, energy, peaks, solver and stage times."""
    schedule, result = run.schedule, run.solve
    costs = _table("Cost of the day", "component", "PLN")
    for row in schedule.costs.itertuples():
        costs.add_row(str(row.component).replace("_", " "), f"{row.cost_pln:,.2f}")
    costs.add_row("[bold]total[/bold]", f"[bold]{schedule.total_cost_pln:,.2f}[/bold]")

    totals = energy_totals(schedule)
    energy = _table("Energy", "quantity", "MWh")
    for label, value in (
        ("cluster consumption", totals.load_mwh),
        ("local generation", totals.local_generation_mwh),
        ("imported at connection points", totals.imported_mwh),
        ("exported at connection points", totals.exported_mwh),
        ("fixed-price blocks", totals.block_mwh),
        ("bought day-ahead", totals.day_ahead_bought_mwh),
        ("sold day-ahead", totals.day_ahead_sold_mwh),
    ):
        energy.add_row(label, f"{value:,.2f}")
    energy.add_row("local share of consumption", f"{100 * totals.local_share:.1f} %")

    peaks = connection_point_peaks(schedule)
    over = int((peaks["overrun_steps"] > 0).sum())
    caption = f"{len(peaks)} connection points; {over} planned above contracted capacity"
    if len(peaks) > PEAK_ROWS:
        caption += f"; the {PEAK_ROWS} nearest their contract shown"
    capacity = _table(
        "Peak import vs contracted capacity",
        *("connection point", "peak kW", "contracted kW", "use", "steps over"),
    )
    capacity.caption = caption
    for name, peak in peaks.head(PEAK_ROWS).iterrows():
        capacity.add_row(
            str(name),
            f"{peak['peak_import_kw']:,.1f}",
            f"{peak['contracted_capacity_kw']:,.0f}",
            f"{100 * peak['utilisation']:.0f} %",
            str(int(peak["overrun_steps"])),
            style="red" if peak["overrun_steps"] > 0 else "",
        )

    solver = _table("Solver (HiGHS)", "fact", "value")
    if schedule.meta.get("infeasible"):
        # The objective then holds the slack penalties of the elastic model, not money.
        solver.add_row("status", "[bold red]infeasible[/] — plan of the elastic model, flagged")
    else:
        solver.add_row("status", str(result.status))
    solver.add_row("objective", f"{result.objective_pln:,.2f} PLN")
    gap = "n/a" if result.mip_gap is None else f"{100 * result.mip_gap:.4f} %"
    solver.add_row("MIP gap", gap)
    solver.add_row("HiGHS time", f"{result.highs_time_s:.3f} s")
    size = f"{result.n_variables:,} variables ({result.n_binaries:,} binary), "
    solver.add_row("size", size + f"{result.n_constraints:,} constraints")

    stages = _table("Time per stage", "stage", "seconds")
    for stage, seconds in run.stage_seconds.items():
        stages.add_row(stage, f"{seconds:.3f}")
    stages.add_row("[bold]total[/bold]", f"[bold]{sum(run.stage_seconds.values()):.3f}[/bold]")

    return Group(costs, energy, capacity, solver, stages)


def print_schedule_run(console: Console, run: ScheduleRun) -> None:
    """Print the summary and where the files went."""
    steps = len(run.schedule.cluster)
    console.print(
        f"[bold]{run.config.cluster.name}[/bold] — schedule for {run.schedule.day} "
        f"({steps} steps of {run.schedule.step_minutes} min), run {run.run_id}"
    )
    console.print(schedule_summary(run))
    for zone in run.excluded_zones:
        console.print(
            f"[yellow]zone {zone.building_id}/{zone.zone_id} left out of the flexibility:[/] "
            f"{zone.reason}",
            highlight=False,
        )
    console.print(f"Schedule and plot written to [bold]{run.output_dir}[/bold]:")
    for path in run.files:
        console.print(f"  {path}")


def config_summary(config: ClusterConfig, source: str) -> Group:
    """What a configuration holds: members, connection points, assets."""
    head = _table(f"{config.cluster.name} — {source}", "fact", "value")
    info = config.cluster
    head.add_row("time zone, step", f"{info.timezone}, {info.step_minutes} min")
    head.add_row("location", f"{info.latitude_deg:.2f} N, {info.longitude_deg:.2f} E")
    kinds = Counter(m.kind.value.replace("_", " ") for m in config.members)
    head.add_row("members", ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    groups = Counter(config.tariff_of(cp).group for cp in config.connection_points)
    head.add_row(
        "connection points",
        f"{len(config.connection_points)} ("
        + ", ".join(f"{n}× {g}" for g, n in sorted(groups.items()))
        + ")",
    )
    contracted = sum(cp.contracted_capacity_kw for cp in config.connection_points)
    head.add_row("contracted capacity", f"{contracted:,.0f} kW")
    blocks = config.supply_contract.blocks
    listed = ", ".join(f"{b.name} {b.power_kw:,.0f} kW" for b in blocks)
    head.add_row("supply blocks", listed or "none")

    a = config.assets
    kwp = sum(p.kwp for p in a.pv_plants)
    wte_kw = sum(c.electric_max_kw for c in a.wte_chps)
    biogas_kw = sum(c.engine_max_kw for c in a.biogas_chps)
    battery = (sum(b.power_kw for b in a.batteries), sum(b.energy_kwh for b in a.batteries))
    heat_mwh = sum(d.annual_heat_demand_mwh for d in a.district_heating)
    zones = sum(len(b.zones) for b in a.buildings)
    assets = _table("Assets", "kind", "count", "size")
    assets.add_row("PV plants", str(len(a.pv_plants)), f"{kwp:,.0f} kWp")
    assets.add_row("waste-to-energy CHP", str(len(a.wte_chps)), f"{wte_kw:,.0f} kWe max")
    assets.add_row("biogas CHP", str(len(a.biogas_chps)), f"{biogas_kw:,.0f} kWe max")
    assets.add_row("batteries", str(len(a.batteries)), "{:,.0f} kW / {:,.0f} kWh".format(*battery))
    assets.add_row("public buildings", str(len(a.buildings)), f"{zones} BMS zones")
    assets.add_row("district heating", str(len(a.district_heating)), f"{heat_mwh:,.0f} MWh/yr")
    lamps = sum(c.luminaires for c in a.lighting_circuits)
    municipalities = len({c.municipality for c in a.lighting_circuits})
    lighting = f"{lamps:,} luminaires in {municipalities} municipalities"
    assets.add_row("street-lighting circuits", str(len(a.lighting_circuits)), lighting)
    points = sum(len(asset.points) for asset in a.all()) + sum(
        len(z.points) for b in a.buildings for z in b.zones
    )
    assets.caption = f"{points:,} points in all"
    return Group(head, assets)
