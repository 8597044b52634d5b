"""The cluster configuration: a TOML file validated into frozen, typed objects.

The model below is the single description of a cluster: its members, their
connection points and tariffs, the joint-purchase supply contract, and every
asset with its points. :func:`load_config` reads a file and reports every
problem at once, each with the file, the key path and the fix
(:class:`~cluster.errors.ConfigError`).
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

from cluster.assets import (
    Asset,
    Assets,
    Battery,
    BiogasCHP,
    BmsZone,
    BuildingUse,
    ComfortBand,
    DistrictHeating,
    HeatingKind,
    LightingCircuit,
    Occupancy,
    PublicBuilding,
    PVPlant,
    WasteToEnergyCHP,
)
from cluster.errors import ConfigError, ConfigProblem, ConfigValueError
from cluster.fields import DayType, FrozenModel, HourRange, choose_from
from cluster.members import (
    ClusterInfo,
    ConnectionPoint,
    LoadProfile,
    Member,
    MemberKind,
    OverrunRule,
    SettlementTerms,
    SupplyBlock,
    SupplyContract,
    Tariff,
    TariffZone,
)

# The configuration's objects live in cluster.members and cluster.assets;
# they are named here too so that one import gives the whole model.
__all__ = [
    "Asset", "Assets", "Battery", "BiogasCHP", "BmsZone", "BuildingUse", "ClusterConfig",
    "ClusterInfo", "ComfortBand", "ConnectionPoint", "DayType", "DistrictHeating",
    "HeatingKind", "HourRange", "LightingCircuit", "LoadProfile", "Member", "MemberKind",
    "Occupancy", "OverrunRule", "PVPlant", "PublicBuilding", "SupplyBlock", "SupplyContract",
    "Tariff", "TariffZone", "WasteToEnergyCHP", "demo_config_text", "load_config",
    "load_demo_config", "parse_config",
]  # fmt: skip


class ClusterConfig(FrozenModel):
    """A whole cluster, as read from its configuration file."""

    cluster: ClusterInfo
    members: list[Member] = Field(min_length=1)
    tariffs: list[Tariff] = Field(min_length=1)
    connection_points: list[ConnectionPoint] = Field(min_length=1)
    supply_contract: SupplyContract = Field(default_factory=SupplyContract)
    assets: Assets = Field(default_factory=Assets)
    settlement: SettlementTerms = Field(default_factory=SettlementTerms)

    def tariff_of(self, connection_point: ConnectionPoint) -> Tariff:
        """The tariff a connection point is billed on."""
        return next(t for t in self.tariffs if t.id == connection_point.tariff)

    def connection_point(self, connection_point_id: str) -> ConnectionPoint:
        """The connection point with this id."""
        return next(c for c in self.connection_points if c.id == connection_point_id)

    def assets_at(self, connection_point_id: str) -> list[Asset]:
        """Every asset behind a connection point."""
        return [a for a in self.assets.all() if a.connection_point == connection_point_id]


# --- loading and error reporting ---------------------------------------------------


DEMO_CONFIG_NAME = "demo_cluster.toml"


def demo_config_text() -> str:
    """The TOML text of the built-in demo cluster (Kielce functional area)."""
    return resources.files("cluster").joinpath(DEMO_CONFIG_NAME).read_text(encoding="utf-8")


def load_demo_config() -> ClusterConfig:
    """The built-in demo cluster, modelled on the Kielce functional area."""
    return parse_config(demo_config_text(), source=f"<built-in demo: {DEMO_CONFIG_NAME}>")


def load_config(path: str | Path | None) -> ClusterConfig:
    """Read and validate a cluster configuration file; ``None`` gives the demo cluster.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or does not describe a
        consistent cluster. Every problem is listed with its key path and fix.
    """
    if path is None:
        return load_demo_config()
    file = Path(path)
    if not file.is_file():
        problem = ConfigProblem(
            "(file)",
            "the file does not exist" if not file.exists() else "the path is not a file",
            "give the path of a cluster TOML file, or leave --config out to use the demo cluster",
        )
        raise ConfigError(str(file), [problem])
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            str(file), [ConfigProblem("(file)", f"cannot be read: {exc}", "save it as UTF-8 text")]
        ) from None
    return parse_config(text, source=str(file))


def parse_config(text: str, *, source: str) -> ClusterConfig:
    """Validate TOML text into a :class:`ClusterConfig`; ``source`` names it in errors.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its key path and fix: the checks
        of single values and the cross-references (ids, references between
        entries) are all reported together.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [_syntax_problem(exc, text)]) from None
    try:
        config = ClusterConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem_of(err, raw) for err in exc.errors()]
    else:
        problems = []
    # A key that already failed its own check is not reported again as a bad reference.
    reported = {p.key for p in problems}
    problems += [p for p in _reference_problems(raw) if p.key not in reported]
    if problems:
        raise ConfigError(source, problems)
    return config


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> ConfigProblem:
    """The TOML syntax error, quoting the offending line when the parser names one."""
    where = re.search(r"at line (\d+), column (\d+)", str(exc))
    if where is None:
        return ConfigProblem("(syntax)", f"not valid TOML: {exc}", "correct the TOML syntax")
    line_number = int(where.group(1))
    lines = text.splitlines()
    line = lines[line_number - 1].strip() if line_number <= len(lines) else ""
    return ConfigProblem(
        "(syntax)",
        f"not valid TOML: {exc}: {line}",
        f"correct the TOML syntax on line {line_number}: text in double quotes, "
        "numbers and true/false without, one key = value per line",
    )


def _key_path(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> str:
    """A TOML key path such as ``assets.pv_plants[2](id=pv-farm).kwp``."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f"(id={node['id']})"
            else:
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model class a field's annotation holds, looking through lists and ``| None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class of the table at ``loc`` (list indices skipped), if there is one."""
    model: type[BaseModel] | None = ClusterConfig
    for item in loc:
        if isinstance(item, int):
            continue
        if model is None or item not in model.model_fields:
            return None
        model = _inner_model(model.model_fields[item].annotation)
    return model


def _shown(value: Any) -> str:
    """A short rendering of a value from the file, for a message."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _missing_fix(loc: tuple[int | str, ...]) -> str:
    name = str(loc[-1])
    table = ".".join(str(item) for item in loc if isinstance(item, str))
    parent = _model_at(loc[:-1])
    field = parent.model_fields.get(name) if parent is not None else None
    if field is not None and _inner_model(field.annotation) is not None:
        if get_origin(field.annotation) is list:
            return f"add at least one [[{table}]] entry"
        return f"add a [{table}] table"
    return f"add {name} = <value> here"


def _pattern_problem(pattern: str, name: str, given: Any) -> tuple[str, str]:
    if pattern.startswith("^[a-z0-9]"):
        return (
            f"{_shown(given)} is not a valid id",
            "write ids with lower-case letters a-z, digits, '-' and '_', starting with a "
            "letter or digit, e.g. 'cp-school-1'",
        )
    if name == "group":
        return (
            f"{_shown(given)} is not a Polish tariff group name",
            "use a tariff group name such as B23, C21, C22a, C12o or G11",
        )
    if name == "country":
        return (f"{_shown(given)} is not a two-letter country code", "use a code such as 'PL'")
    return (f"{_shown(given)} does not have the expected form {pattern}", "correct the text")


def _problem_of(error: Any, raw: Mapping[str, Any]) -> ConfigProblem:
    """One pydantic error rewritten for a facility engineer: key path, what, fix."""
    loc = tuple(error["loc"])
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    given = error.get("input")
    name = str(loc[-1]) if loc else "value"
    cause = ctx.get("error")
    if isinstance(cause, ConfigValueError):
        where = loc + tuple(cause.field.split(".")) if cause.field else loc
        return ConfigProblem(_key_path(where, raw), cause.message, cause.fix)
    message = f"{error['msg'].removeprefix('Value error, ')}, got {_shown(given)}"
    fix = "correct the value"
    if kind == "missing":
        message, fix = f"the required key {name!r} is missing", _missing_fix(loc)
    elif kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        message, fix = f"unknown key {name!r}", "remove it, or correct its spelling"
        if len(loc) > 1 and name in ClusterConfig.model_fields:
            # In TOML every key after a [table] header belongs to that table.
            fix = f"{name} belongs at the top level: move it above the first [table] header"
        elif parent is not None:
            fix += "; " + choose_from(name, parent.model_fields)
    elif kind in _BOUNDS:
        phrase, fix_phrase = _BOUNDS[kind]
        limit = _shown(next(iter(ctx.values()), ""))
        message = f"must be {phrase} {limit}, got {_shown(given)}"
        fix = f"use a value {fix_phrase} {limit}"
    elif kind == "finite_number":
        message = f"must be a finite number, got {_shown(given)}"
        fix = "write an ordinary number: nan and inf are not allowed here"
    elif kind in {"literal_error", "enum"}:
        message = f"must be one of {ctx.get('expected')}, got {_shown(given)}"
        fix = "use one of the values named"
    elif kind == "string_pattern_mismatch":
        message, fix = _pattern_problem(str(ctx.get("pattern")), name, given)
    elif kind == "too_short":
        table = ".".join(str(item) for item in loc if isinstance(item, str))
        message = (
            f"needs at least {ctx.get('min_length')} of them, "
            f"has {ctx.get('actual_length') or 'none'}"
        )
        fix = (
            f"add at least one [[{table}]] entry"
            if _model_at(loc) is not None
            else "give at least one value"
        )
    elif kind == "string_too_short":
        message, fix = "must not be empty", "write a value between the quotes"
    elif kind == "int_from_float":
        message = f"must be a whole number, got {_shown(given)}"
        fix = "write a whole number, without a decimal point"
    elif kind.startswith(("float_", "int_")):
        message = f"must be a number, got {_shown(given)}"
        fix = "write a plain number without quotes or units (the unit is in the key's name)"
    elif kind.startswith("bool_"):
        message = f"must be true or false, got {_shown(given)}"
        fix = "write true or false, without quotes"
    elif kind == "string_type":
        message = f"must be text, got {_shown(given)}"
        fix = "put the value in double quotes"
    elif kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = f"must be a table, got {_shown(given)}"
        fix = f"write it as a [{name}] table or an inline table {{ key = value, ... }}"
    elif kind == "list_type":
        message = f"must be a list, got {_shown(given)}"
        fix = "write a list in square brackets, or [[...]] entries for a list of tables"
    return ConfigProblem(_key_path(loc, raw), message, fix)


#: Pydantic's bound errors: how the message and the fix phrase the limit.
_BOUNDS: dict[str, tuple[str, str]] = {
    "greater_than": ("greater than", "above"),
    "greater_than_equal": ("at least", "of at least"),
    "less_than": ("less than", "below"),
    "less_than_equal": ("at most", "of at most"),
}


# --- cross-references, checked on the raw TOML so they are reported with the rest ---


def _entries(raw: Any, *keys: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The tables of the list at ``raw[keys[0]][keys[1]]...``, with their indices."""
    node = raw
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, list):
        return []
    return [(i, entry) for i, entry in enumerate(node) if isinstance(entry, Mapping)]


def _ids(entries: list[tuple[int, Mapping[str, Any]]]) -> set[str]:
    return {e["id"] for _, e in entries if isinstance(e.get("id"), str)}


def _duplicate_problems(
    keyed: Iterable[tuple[str, Mapping[str, Any]]], fix: str
) -> Iterable[ConfigProblem]:
    """A problem for every entry whose id an earlier entry already has."""
    first: dict[str, str] = {}
    for key, entry in keyed:
        ident = entry.get("id")
        if not isinstance(ident, str):
            continue
        if ident in first:
            yield ConfigProblem(f"{key}.id", f"id {ident!r} is already used by {first[ident]}", fix)
        else:
            first[ident] = key


def _reference_problem(
    key: str, wanted: Any, known: set[str], what: str, table: str
) -> ConfigProblem | None:
    """A problem when ``wanted``, an id written in the file, is not among ``known`` ids."""
    if not isinstance(wanted, str) or wanted in known:
        return None
    close = difflib.get_close_matches(wanted, sorted(known), n=1)
    if not known:
        fix = f"add a [[{table}]] entry with this id"
    elif len(known) <= 8:
        fix = f"use one of the {what} ids: {', '.join(sorted(known))}"
    else:
        fix = f"use the id of a [[{table}]] entry"
    if close:
        fix = f"did you mean {close[0]!r}? Otherwise {fix}"
    return ConfigProblem(key, f"no {what} has id {wanted!r}", fix)


def _reference_problems(raw: Mapping[str, Any]) -> Iterable[ConfigProblem]:
    """Ids and references between entries, which pydantic cannot check field by field."""
    path = functools.partial(_key_path, raw=raw)
    members, tariffs, points = (_entries(raw, name) for name in _TOP_TABLES)
    for name, entries in zip(_TOP_TABLES, (members, tariffs, points), strict=True):
        yield from _duplicate_problems(
            ((path((name, i)), e) for i, e in entries), "give every entry its own id"
        )
    assets = [
        (field_name, i, e) for field_name in Assets.model_fields
        for i, e in _entries(raw, "assets", field_name)
    ]  # fmt: skip
    yield from _duplicate_problems(
        ((path(("assets", f, i)), e) for f, i, e in assets),
        "give every asset its own id (all kinds of asset share one set of ids)",
    )
    member_ids, tariff_ids, point_ids = _ids(members), _ids(tariffs), _ids(points)
    heating_ids = _ids(_entries(raw, "assets", "district_heating"))
    # (key path, id written there, ids it may name, what they are, the table that holds them)
    references: list[tuple[str, Any, set[str], str, str]] = []
    for i, cp in points:
        key = path(("connection_points", i))
        references += [
            (f"{key}.member", cp.get("member"), member_ids, "member", "members"),
            (f"{key}.tariff", cp.get("tariff"), tariff_ids, "tariff", "tariffs"),
        ]
    for field_name, i, asset in assets:
        key = path(("assets", field_name, i))
        references.append((f"{key}.connection_point", asset.get("connection_point"), point_ids,
                           "connection point", "connection_points"))  # fmt: skip
        if field_name == "wte_chps":
            references.append((f"{key}.district_heating", asset.get("district_heating"),
                               heating_ids, "district-heating network",
                               "assets.district_heating"))  # fmt: skip
        for part, fix in (("points", "give every point of an asset its own id"),
                          ("zones", "give every zone of a building its own id")):  # fmt: skip
            yield from _duplicate_problems(
                ((f"{key}.{part}[{j}]" + _id_label(e), e) for j, e in _entries(asset, part)), fix
            )
    for reference in references:
        problem = _reference_problem(*reference)
        if problem is not None:
            yield problem


def _id_label(entry: Mapping[str, Any]) -> str:
    return f"(id={entry['id']})" if isinstance(entry.get("id"), str) else ""


_TOP_TABLES = ("members", "tariffs", "connection_points")
