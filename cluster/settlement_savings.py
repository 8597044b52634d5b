r"""What members would pay alone, and a fair split of the cluster's saving (Shapley value).

Standing alone, a member buys all its metered import at its own standalone
price (the member's override, else the terms' default) and sells its export
at the day-ahead price less the standalone trader's fee; its distribution
charges do not change (same tariff, same meter).

The Shapley value shares the saving of the game

.. math::

    v(S) = \sum_{m \in S} A_m - c(S), \qquad
    c(S) = \sum_t \big[(I_{S,t} - E_{S,t})^+ (DA_t + \mu)
                     - (E_{S,t} - I_{S,t})^+ (DA_t - \varphi)\big]

- :math:`A_m` member :math:`m`'s standalone energy cost (import at its
  standalone price less export at the standalone sell price), PLN;
- :math:`I_{S,t}, E_{S,t}` the coalition's import and export in step :math:`t`
  (netted inside the coalition: :math:`I - \min(I, E)` is bought and
  :math:`E - \min(I, E)` sold), Wh;
- :math:`DA_t` day-ahead price, :math:`\mu` supplier's margin,
  :math:`\varphi` sell-back fee, PLN/MWh.

The fixed-price blocks are the whole cluster's hedge, bought before anyone
knew who would use them, so they stay outside the game; so do distribution
charges, which do not depend on the coalition. :math:`v(N)` is therefore the
saving of netting and joint day-ahead purchase, not the members' total
saving on their statements.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

from cluster.config import ClusterConfig
from cluster.settlement import grosz_per_mwh, round_to_grosz, split_to_grosz

#: Up to this many members the Shapley value is enumerated exactly (2^n coalitions).
SHAPLEY_EXACT_MAX_MEMBERS = 12
#: Random orders of the members the sampled Shapley value averages over (half of
#: them drawn, each used forwards and reversed).
SHAPLEY_PERMUTATIONS = 200
#: Seed of the sampled Shapley value: the same inputs give the same shares.
SHAPLEY_SEED = 20_260_701
_MICRO_GROSZ_PER_PLN = 100_000_000
# Coalitions evaluated at once in the exact enumeration (bounds the memory).
_COALITION_CHUNK = 512


def standalone_energy_micro_grosz(
    config: ClusterConfig,
    consumption_wh: np.ndarray,
    export_wh: np.ndarray,
    day_ahead_grosz_per_mwh: np.ndarray,
) -> np.ndarray:
    """Each member's energy cost had it stood alone, micro-grosz (int64, config order).

    Parameters
    ----------
    config : ClusterConfig
        Members (their standalone price overrides) and the settlement terms.
    consumption_wh, export_wh : numpy.ndarray
        Metered import and export per step and member, Wh, shape (steps, members).
    day_ahead_grosz_per_mwh : numpy.ndarray
        Day-ahead price per step, grosz/MWh.
    """
    terms = config.settlement
    price = grosz_per_mwh(np.array([terms.standalone_price_for(m) for m in config.members]))
    sell_price = day_ahead_grosz_per_mwh - int(grosz_per_mwh(terms.standalone_sell_fee_pln_per_mwh))
    result: np.ndarray = consumption_wh.sum(axis=0) * price - export_wh.T @ sell_price
    return result


def standalone_pln(
    member_ids: Sequence[str],
    energy_micro_grosz: np.ndarray,
    distribution_pln: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Each member's standalone month: its energy cost to the grosz plus its distribution lines.

    Parameters
    ----------
    member_ids : sequence of str
        The members, in the order of ``energy_micro_grosz``.
    energy_micro_grosz : numpy.ndarray
        Standalone energy cost per member, micro-grosz.
    distribution_pln : mapping of str to Decimal
        The member's distribution lines (unchanged alone), PLN.
    """
    return {
        m: round_to_grosz(Decimal(int(v)).scaleb(-8)) + distribution_pln[m]
        for m, v in zip(member_ids, energy_micro_grosz.tolist(), strict=True)
    }


@dataclass(frozen=True)
class CoalitionGame:
    """The members' purchase game: what each coalition would pay and save.

    Attributes
    ----------
    consumption_wh, export_wh : numpy.ndarray
        Import and export per step and member, Wh, int64, shape (steps, members).
    purchase_grosz_per_mwh, sell_back_grosz_per_mwh : numpy.ndarray
        Day-ahead + margin and day-ahead - fee per step, grosz/MWh.
    standalone_micro_grosz : numpy.ndarray
        Each member's standalone energy cost :math:`A_m`, micro-grosz.
    """

    consumption_wh: np.ndarray
    export_wh: np.ndarray
    purchase_grosz_per_mwh: np.ndarray
    sell_back_grosz_per_mwh: np.ndarray
    standalone_micro_grosz: np.ndarray

    @property
    def n_members(self) -> int:
        """How many players the game has."""
        return int(self.consumption_wh.shape[1])

    def cost_micro_grosz(self, net_import_wh: np.ndarray) -> np.ndarray:
        """:math:`c(S)` of coalitions given their net import, micro-grosz.

        Parameters
        ----------
        net_import_wh : numpy.ndarray
            :math:`I_S - E_S` per coalition (rows) and step (columns), Wh.
        """
        bought = np.maximum(net_import_wh, 0) @ self.purchase_grosz_per_mwh
        sold = np.maximum(-net_import_wh, 0) @ self.sell_back_grosz_per_mwh
        result: np.ndarray = bought - sold
        return result

    def value_micro_grosz(self, members: Sequence[int]) -> int:
        """:math:`v(S)` of one coalition (member positions), micro-grosz."""
        chosen = list(members)
        if not chosen:
            return 0
        net = (self.consumption_wh[:, chosen] - self.export_wh[:, chosen]).sum(axis=1)
        cost = int(self.cost_micro_grosz(net[None, :])[0])
        return int(self.standalone_micro_grosz[chosen].sum()) - cost


def shapley_exact(game: CoalitionGame) -> list[Fraction]:
    """Every member's Shapley value by enumerating all coalitions, micro-grosz (exact).

    :math:`\\phi_m = \\sum_{S \\not\\ni m} \\frac{|S|!\\,(n-|S|-1)!}{n!}
    \\big(v(S \\cup \\{m\\}) - v(S)\\big)`; 2^n coalitions, so only for few members.

    Parameters
    ----------
    game : CoalitionGame
        The game.
    """
    n = game.n_members
    net = (game.consumption_wh - game.export_wh).T
    coalitions = np.arange(1 << n, dtype=np.int64)
    bits = (coalitions[:, None] >> np.arange(n, dtype=np.int64)) & 1
    cost = np.concatenate(
        [
            game.cost_micro_grosz(bits[start : start + _COALITION_CHUNK] @ net)
            for start in range(0, len(coalitions), _COALITION_CHUNK)
        ]
    )
    value = bits @ game.standalone_micro_grosz - cost
    size = bits.sum(axis=1)
    weight = [math.factorial(k) * math.factorial(n - k - 1) for k in range(n)]
    values = []
    for m in range(n):
        without = coalitions[bits[:, m] == 0]
        gain = value[without | (1 << m)] - value[without]
        # Python integers: weighted sums of month-long values overflow int64.
        numerator = sum(weight[k] * sum(gain[size[without] == k].tolist(), 0) for k in range(n))
        values.append(Fraction(numerator, math.factorial(n)))
    return values


def shapley_sampled(
    game: CoalitionGame,
    permutations: int = SHAPLEY_PERMUTATIONS,
    seed: int = SHAPLEY_SEED,
) -> list[Fraction]:
    """Every member's Shapley value estimated over random member orders, micro-grosz.

    Each drawn order is also used reversed (antithetic pairs, which cancel much
    of the sampling noise); each order's marginal contributions add up to
    :math:`v(N)` exactly, so the estimates do too.

    Parameters
    ----------
    game : CoalitionGame
        The game.
    permutations : int
        Orders averaged over (an even number; an odd one is rounded up).
    seed : int
        Seed of the random orders.
    """
    n = game.n_members
    rng = np.random.default_rng(seed)
    net = np.ascontiguousarray((game.consumption_wh - game.export_wh).T)
    # c = (x)^+ p - (-x)^+ s = (x)^+ (p - s) + x s: the second term is linear, so a
    # prefix's is the running sum of each member's own; only the first needs the steps.
    gap = game.purchase_grosz_per_mwh - game.sell_back_grosz_per_mwh
    linear = net @ game.sell_back_grosz_per_mwh
    prefix = np.empty_like(net)
    marginal_cost = np.zeros(n, dtype=object)
    pairs = max(1, math.ceil(permutations / 2))
    for _ in range(pairs):
        order = rng.permutation(n)
        for sequence in (order, order[::-1]):
            np.take(net, sequence, axis=0, out=prefix)
            np.cumsum(prefix, axis=0, out=prefix)
            np.maximum(prefix, 0, out=prefix)
            prefix_cost = prefix @ gap + np.cumsum(linear[sequence])
            marginal_cost[sequence] += np.diff(prefix_cost, prepend=0).astype(object)
    standalone = game.standalone_micro_grosz.tolist()
    return [
        Fraction(int(a)) - Fraction(int(c), 2 * pairs)
        for a, c in zip(standalone, marginal_cost, strict=True)
    ]


def shapley_saving_pln(game: CoalitionGame, member_ids: Sequence[str]) -> dict[str, Decimal]:
    """Each member's Shapley share of the game's saving, PLN, adding up to the rounded v(N).

    Exact up to :data:`SHAPLEY_EXACT_MAX_MEMBERS` members, else sampled over
    :data:`SHAPLEY_PERMUTATIONS` orders with the fixed :data:`SHAPLEY_SEED`.

    Parameters
    ----------
    game : CoalitionGame
        The game, members in the order of ``member_ids``.
    member_ids : sequence of str
        The members.
    """
    if game.n_members <= SHAPLEY_EXACT_MAX_MEMBERS:
        values = shapley_exact(game)
    else:
        values = shapley_sampled(game)
    grand = sum(values, Fraction(0))
    amounts: dict[str, Decimal] = {}
    with localcontext() as context:
        context.prec = 60
        for m, value in zip(member_ids[:-1], values[:-1], strict=True):
            exact = Decimal(value.numerator) / Decimal(value.denominator * _MICRO_GROSZ_PER_PLN)
            amounts[m] = exact.quantize(Decimal("1e-12"))
        # The last takes the rest, so the amounts add up to v(N) exactly and
        # round to its grosz.
        whole = Decimal(grand.numerator) / Decimal(grand.denominator * _MICRO_GROSZ_PER_PLN)
        amounts[member_ids[-1]] = whole - sum(amounts.values(), Decimal(0))
    return split_to_grosz(amounts)
