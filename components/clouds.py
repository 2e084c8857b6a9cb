"""Per-cloud Entra facts: login host and the token-exchange audience a managed identity token must carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    login_host: str
    token_exchange_audience: str
    storage_suffix: str = "core.windows.net"
    """DNS suffix of storage endpoints (``<account>.blob.<suffix>``)."""
    app_service_suffix: str = "azurewebsites.net"
    """DNS suffix of an App Service or Function App's default host name (``<site>.<suffix>``)."""

    def site_host(self, site: str) -> str:
        return f"{site}.{self.app_service_suffix}"

    def storage_uri(self, account: str, service: str) -> str:
        return f"https://{account}.{service}.{self.storage_suffix}"

    @property
    def instance(self) -> str:
        """Microsoft.Identity.Web's ``AzureAd:Instance``: the authority host with a trailing slash."""
        return f"https://{self.login_host}/"

    @property
    def token_exchange_url(self) -> str | None:
        """``TokenExchangeUrl`` for the AzureAd settings: needed in every cloud but the public one."""
        return None if self.name == "AzurePublic" else self.token_exchange_audience

    def issuer(self, tenant_id: str) -> str:
        """Entra's v2.0 issuer for the tenant: the issuer of a managed identity token (no trailing slash)."""
        return f"https://{self.login_host}/{tenant_id}/v2.0"


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("AzurePublic", "login.microsoftonline.com", "api://AzureADTokenExchange"),
        Cloud(
            "AzureUSGovernment",
            "login.microsoftonline.us",
            "api://AzureADTokenExchangeUSGov",
            "core.usgovcloudapi.net",
            "azurewebsites.us",
        ),
        Cloud(
            "AzureChina",
            "login.partner.microsoftonline.cn",
            "api://AzureADTokenExchangeChina",
            "core.chinacloudapi.cn",
            "chinacloudsites.cn",
        ),
    )
}
