"""One builder per component of the cluster's MILP, each adding a Pyomo block.

Every builder takes the model, the :class:`~optimisation.horizon.Horizon` and
the data it needs, adds one block per asset (or one for the component), and
returns frozen handles that reference the block's variables. Assets put their
power on their connection point's bus through :class:`~optimisation.components.bus.Injection`
records, and every cost is a :class:`~optimisation.components.costs.CostTerm`,
so a new component plugs in by returning both.
"""
