"""AppRegistration for the package: an Entra application and its service principal."""

import pulumi

from certless_package.convert import plain
from certless_package.index_type import IndexTyped
from certless_package.types import AppRegistrationArgs
from components import app_registration as base


class AppRegistration(base.AppRegistration, IndexTyped):
    """An Entra app registration and its service principal in the home tenant."""

    client_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    application_id: pulumi.Output[str]
    """The Graph resource ID /applications/{objectId}."""

    def __init__(
        self, name: str, args: AppRegistrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = base.AppRegistrationArgs(
            display_name=args["display_name"],
            owners=tuple(args.get("owners", ())),
            sign_in_audience=args.get("sign_in_audience", "AzureADMyOrg"),
            app_roles=tuple(base.AppRole(**plain(role)) for role in args.get("app_roles", ())),
        )
        super().__init__(name, spec, opts)
