"""One builder per component of the cluster's MILP.

Every builder takes the model, the :class:`~optimisation.horizon.Horizon` and
the data it needs, adds its variables and rows, and returns frozen handles
that reference them. Components with many assets of one kind (connection
points, PV plants, lighting circuits, building zones) hold all of them in one
variable per kind and one matrix of rows (:class:`~optimisation.rows.LinearRows`),
built from arrays; the few large plants (batteries, waste-to-energy, biogas,
district heat) have a block each. Assets put their power on their connection
point's bus through :class:`~optimisation.components.bus.Injection` records,
as :class:`~optimisation.components.step_rows.StepTerms`, and every cost is a
:class:`~optimisation.components.costs.CostTerm`, so a new component plugs in
by returning both.
"""
