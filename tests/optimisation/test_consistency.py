"""check_consistency refuses days that cannot be planned, naming the asset, field and steps.

A table of inconsistent inputs, each made by spoiling one thing of a small
plannable day, with the phrases its message must contain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from cluster.config import (
    Assets,
    Battery,
    BiogasCHP,
    ClusterConfig,
    DistrictHeating,
    SupplyContract,
    WasteToEnergyCHP,
)
from cluster.timeseries import SeriesId
from optimisation.components.wte import WteState
from optimisation.consistency import check_consistency
from optimisation.errors import PlanningInputError
from optimisation.inputs import PlanningInputs
from optimisation.model import ModelOptions, build_model
from optimisation.solve import SolveStatus, solve
from tests.optimisation.scenarios import (
    demo_inputs,
    flat_tariff,
    one_point_config,
    short_day_inputs,
)

N_STEPS = 8


WTE = WasteToEnergyCHP(
    id="wte", connection_point="cp", electric_min_kw=100.0, electric_max_kw=400.0,
    ramp_kw_per_hour=1600.0, start_cost_pln=0.0, heat_to_power_ratio=2.0,
    electric_efficiency=0.25, daily_min_waste_mwh=0.0, district_heating="dh",
)  # fmt: skip
NETWORK = DistrictHeating(
    id="dh", connection_point="cp", annual_heat_demand_mwh=4000.0, gas_boiler_max_kw=1000.0,
    heat_store_kwh=100.0, heat_store_loss_pct_per_hour=10.0, heat_store_initial_pct=0.0,
    emergency_cooler_kw=1000.0,
)  # fmt: skip
BATTERY = Battery(
    id="bat", connection_point="cp", power_kw=100.0, energy_kwh=100.0,
    soc_min_pct=10.0, soc_max_pct=90.0, soc_initial_pct=50.0,
)  # fmt: skip
ENGINE = BiogasCHP(
    id="bio", connection_point="cp", engine_min_kw=50.0, engine_max_kw=100.0,
    electric_efficiency=0.5, gas_holder_kwh=50.0,
)  # fmt: skip


@dataclass(frozen=True)
class Day:
    """What a case changes of the small day; every field has a plannable default."""

    wte: WasteToEnergyCHP = WTE
    network: DistrictHeating = NETWORK
    battery: Battery = BATTERY
    engine: BiogasCHP = ENGINE
    wte_kw: tuple[float, ...] = (400.0,) * N_STEPS
    heat_kw: tuple[float, ...] = (300.0,) * N_STEPS
    options: ModelOptions = field(default_factory=ModelOptions)

    def config(self) -> ClusterConfig:
        config = one_point_config(
            tariff=flat_tariff(rate_pln_per_mwh=0.0, capacity_rate_pln_per_kw_month=0.0),
            contracted_capacity_kw=10_000.0,
            export_limit_kw=10_000.0,
            contract=SupplyContract(),
            assets=Assets(),
        )
        # The assets go in by copy, as a program changing a configuration (say, to a
        # measured state) would: a copy is not validated again, so what it breaks must be
        # caught by the checks before the build.
        assets = config.assets.model_copy(
            update={"wte_chps": [self.wte], "district_heating": [self.network],
                    "batteries": [self.battery], "biogas_chps": [self.engine]}
        )  # fmt: skip
        return config.model_copy(update={"assets": assets})

    def inputs(self) -> PlanningInputs:
        series = {
            SeriesId.wte("wte"): self.wte_kw,
            SeriesId.heat_demand("dh"): self.heat_kw,
            SeriesId.biogas_inflow("bio"): (100.0,) * N_STEPS,
        }
        return short_day_inputs(self.config(), series, [100.0] * N_STEPS)


def _check(day: Day) -> None:
    check_consistency(day.inputs(), day.options)


def _forecasts(change: Callable[[PlanningInputs], PlanningInputs]) -> Callable[[], None]:
    def run() -> None:
        check_consistency(change(Day().inputs()), ModelOptions())

    return run


def _heat_nan(inputs: PlanningInputs) -> PlanningInputs:
    forecasts = inputs.forecasts.copy()
    forecasts.loc[forecasts.index[2], SeriesId.heat_demand("dh")] = np.nan
    return replace(inputs, forecasts=forecasts)


def _heat_missing(inputs: PlanningInputs) -> PlanningInputs:
    return replace(inputs, forecasts=inputs.forecasts.drop(columns=SeriesId.heat_demand("dh")))


def _step_missing(inputs: PlanningInputs) -> PlanningInputs:
    keep = inputs.steps.delete(3)
    price = inputs.day_ahead_price_pln_per_mwh.loc[keep]
    return replace(
        inputs, steps=keep, forecasts=inputs.forecasts.loc[keep], day_ahead_price_pln_per_mwh=price
    )


_OUTAGE_FROM_STEP_2 = (400.0, 400.0) + (0.0,) * (N_STEPS - 2)
_MUST_RUN = {"electric_min_kw": 400.0, "daily_min_waste_mwh": 400.0 * 24 / 0.25 / 1000}

INCONSISTENT: list[tuple[str, Callable[[], None], list[str]]] = [
    (
        # 24 MWh a day × 8/96 = 2 MWh of waste; 2 available steps burn at most
        # 2 × 400 kW × 0.25 h / 0.25 = 0.8 MWh.
        "daily minimum beyond the hours available",
        lambda: _check(
            Day(
                wte=WTE.model_copy(update={"daily_min_waste_mwh": 24.0}), wte_kw=_OUTAGE_FROM_STEP_2
            )
        ),
        [
            "waste-to-energy CHP 'wte'",
            "daily_min_waste_mwh",
            "2.0 MWh",
            "0.8 MWh",
            "unavailable in 6 steps from step 2",
            "'wte/wte/power_kw'",
        ],
    ),
    (
        # Off at the start and ramping 100 kW a step from a 100 kW start: at most
        # 100 + 200 + 300 + 400 × 5 = 2600 kW-steps = 650 kWh = 2.6 MWh of waste,
        # against 36 × 8/96 = 3 MWh (3.2 MWh without the ramps: not enough to refuse).
        "daily minimum beyond what the ramps allow",
        lambda: _check(
            Day(
                wte=WTE.model_copy(
                    update={
                        "daily_min_waste_mwh": 36.0,
                        "ramp_kw_per_hour": 400.0,
                        "initially_on": False,
                    }
                )
            )
        ),
        ["'wte'", "daily_min_waste_mwh", "ramp_kw_per_hour 400.0", "at most 2.6 MWh"],
    ),
    (
        "heat demand above plant, boiler and store",
        lambda: _check(Day(heat_kw=(300.0, 300.0, 300.0, 5000.0) + (300.0,) * 4)),
        [
            "district-heating network 'dh'",
            "step 3",
            "5000 kW asked",
            "1800 kW",
            "gas_boiler_max_kw",
            "heat_store_kwh",
            "'heat/dh/demand_kw'",
        ],
    ),
    (
        # 400 kW all day: 800 kWh electric, 1600 kWh of heat; the network takes 8 × 100 ×
        # 0.25 = 200 kWh of demand, 100 kWh of store room and at most 10 %/h × 100 kWh ×
        # 2 h = 20 kWh of store losses: 0.32 MWh.
        "must-burn heat the network cannot take",
        lambda: _check(
            Day(
                wte=WTE.model_copy(update=_MUST_RUN),
                network=NETWORK.model_copy(update={"emergency_cooler_kw": 0.0}),
                heat_kw=(100.0,) * N_STEPS,
            )
        ),
        [
            "district-heating network 'dh'",
            "1.6 MWh of heat",
            "at most 0.3 MWh",
            "emergency_cooler_kw",
        ],
    ),
    (
        "battery limits inverted",
        lambda: _check(
            Day(battery=BATTERY.model_copy(update={"soc_min_pct": 80.0, "soc_max_pct": 20.0}))
        ),
        ["battery 'bat'", "soc_min_pct 80.0 above soc_max_pct 20.0"],
    ),
    (
        "battery starting outside its limits",
        lambda: _check(Day(battery=BATTERY.model_copy(update={"soc_initial_pct": 95.0}))),
        ["battery 'bat'", "soc_initial_pct 95.0", "10.0-90.0 %"],
    ),
    (
        # From 10 % to 90 % of 1000 kWh is 800 kWh; 100 kW × √0.9 × 2 h stores 189.7 kWh.
        "battery end-of-day target out of reach",
        lambda: _check(
            Day(
                battery=BATTERY.model_copy(update={"energy_kwh": 1000.0, "soc_initial_pct": 10.0}),
                options=ModelOptions(battery_end_soc_pct={"bat": 90.0}),
            )
        ),
        [
            "battery 'bat'",
            "end-of-day state of charge 90.0 %",
            "800.0 kWh",
            "189.7 kWh",
            "battery_end_soc_pct",
        ],
    ),
    (
        "plant forecast in MW",
        lambda: _check(Day(wte_kw=(0.4,) * N_STEPS)),
        ["'wte/wte/power_kw'", "waste-to-energy CHP 'wte'", "looks like MW", "electric_max_kw"],
    ),
    (
        "heat demand in W",
        lambda: _check(Day(heat_kw=(300_000.0,) * N_STEPS)),
        ["'heat/dh/demand_kw'", "looks like W", "annual_heat_demand_mwh"],
    ),
    (
        "initial output outside the running range",
        lambda: _check(Day(options=ModelOptions(wte_initial={"wte": WteState(True, 50.0)}))),
        ["waste-to-energy CHP 'wte'", "on at 50.0 kW", "electric_min_kw-electric_max_kw"],
    ),
    (
        "initially off with an output",
        lambda: _check(Day(options=ModelOptions(wte_initial={"wte": WteState(False, 200.0)}))),
        ["waste-to-energy CHP 'wte'", "off with an output of 200.0 kW"],
    ),
    (
        # 400 kW at the start, 100 kW a step down, unavailable from step 1: it would
        # need to be at 100 kW (its start-up limit) by then and can reach only 300.
        "no time to ramp down before an outage",
        lambda: _check(
            Day(
                wte=WTE.model_copy(update={"ramp_kw_per_hour": 400.0}),
                wte_kw=(400.0,) + (0.0,) * (N_STEPS - 1),
                options=ModelOptions(wte_initial={"wte": WteState(True, 400.0)}),
            )
        ),
        ["'wte'", "cannot ramp down", "ramp_kw_per_hour 400.0", "step 1"],
    ),
    (
        "heat-store level for an unknown network",
        lambda: _check(Day(options=ModelOptions(heat_store_initial_pct={"dh-south": 50.0}))),
        ["heat_store_initial_pct", "'dh-south'", "not a district-heating network"],
    ),
    (
        "gas-holder level above 100 %",
        lambda: _check(Day(options=ModelOptions(gas_holder_initial_pct={"bio": 120.0}))),
        ["biogas CHP 'bio'", "gas_holder_initial_pct", "120.0 %"],
    ),
    (
        "plant state for an unknown plant",
        lambda: _check(Day(options=ModelOptions(wte_initial={"wte-2": WteState(True)}))),
        ["wte_initial", "'wte-2'", "not a waste-to-energy CHP"],
    ),
    (
        "plant heat sent to a network that does not exist",
        lambda: _check(Day(wte=WTE.model_copy(update={"district_heating": "dh-south"}))),
        ["waste-to-energy CHP 'wte'", "district_heating 'dh-south'", "use one of: dh"],
    ),
    (
        "engine minimum above its maximum",
        lambda: _check(Day(engine=ENGINE.model_copy(update={"engine_min_kw": 900.0}))),
        ["biogas CHP 'bio'", "engine_min_kw 900.0 above engine_max_kw 100.0"],
    ),
    (
        "heat demand missing",
        _forecasts(_heat_missing),
        ["no column 'heat/dh/demand_kw'", "district-heating network 'dh'"],
    ),
    ("heat demand with a gap", _forecasts(_heat_nan), ["'heat/dh/demand_kw'", "NaN"]),
    ("a step missing from the grid", _forecasts(_step_missing), ["15 minutes apart"]),
]


@pytest.mark.parametrize(
    ("check", "phrases"), [(c, p) for _, c, p in INCONSISTENT], ids=[n for n, _, _ in INCONSISTENT]
)
def test_inconsistent_inputs_are_refused_by_name(
    check: Callable[[], None], phrases: list[str]
) -> None:
    with pytest.raises(PlanningInputError) as caught:
        check()
    for phrase in phrases:
        assert phrase in str(caught.value)
    assert caught.value.fix


def test_the_small_day_and_the_demo_day_pass() -> None:
    _check(Day())
    # Every case above spoils one thing of a day that solves.
    assert solve(build_model(Day().inputs())).status is SolveStatus.OPTIMAL
    inputs = demo_inputs()
    check_consistency(inputs, ModelOptions())


def test_demo_summer_day_without_its_cooler_is_refused() -> None:
    # In June the network wants ~0.35 × 18.3 MW; the plant must burn 520 MWh of waste
    # a day = 520 × 0.22 × 2.1 = 240 MWh of heat, far beyond demand plus store room.
    inputs = demo_inputs()
    networks = inputs.config.assets.district_heating
    without_cooler = [n.model_copy(update={"emergency_cooler_kw": 0.0}) for n in networks]
    config = inputs.config.model_copy(
        update={
            "assets": inputs.config.assets.model_copy(update={"district_heating": without_cooler})
        }
    )
    with pytest.raises(PlanningInputError, match=r"'dh-kielce'.*240\.2 MWh of heat"):
        check_consistency(replace(inputs, config=config), ModelOptions())
