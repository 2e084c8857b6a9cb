"""Registering an adapted component under the package's ``certless:index:<Class>`` type."""

from typing import Any

import pulumi


class IndexTyped(pulumi.ComponentResource):
    """Placed after the adapted component in an adapter's bases, so it sits between that component and
    ``ComponentResource`` in the MRO: the component's own ``super().__init__(type, ...)`` lands here and
    registers as ``certless:index:<adapter class name>``, the type the package schema names and the
    engine asked the provider to construct (the provider hosts the ``index`` module only)."""

    def __init__(
        self,
        t: str,
        name: str,
        props: pulumi.Inputs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(f"certless:index:{type(self).__name__}", name, props, opts, *args, **kwargs)
