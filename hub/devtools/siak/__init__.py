"""The SIAK reference server (`hub siak serve`): the hub's registry contract over the embedded registry."""
