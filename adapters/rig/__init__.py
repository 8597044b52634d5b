"""The hardware-in-the-loop rig: a cluster's devices served as simulated equipment.

* :mod:`adapters.rig.plan` — which devices a cluster configuration gives;
* :mod:`adapters.rig.physics` — the plant behind the devices, as small pure functions;
* :mod:`adapters.rig.plant` — the state of every asset, advanced step by step;
* :mod:`adapters.rig.clock` — the simulated clock and the demo history that drives it;
* :mod:`adapters.rig.registers` — register images and the encoding of measurements;
* :mod:`adapters.rig.modbus_devices` — the register layout of each Modbus device kind;
* :mod:`adapters.rig.modbus_server` — one Modbus/TCP server per device, with its faults;
* :mod:`adapters.rig.bacnet_devices` — the building controllers;
* :mod:`adapters.rig.faults` — the faults a test engineer can inject;
* :mod:`adapters.rig.rig` — :class:`~adapters.rig.rig.Rig`, which runs it all in one loop;
* :mod:`adapters.rig.control` — the control channel and the files other commands read;
* :mod:`adapters.rig.errors` — what the rig refuses, and why.

The servers are test doubles, never production equipment: they bind
127.0.0.1 unless told otherwise.
"""
