"""The emulated Microsoft Entra: tenants and discovery (`discovery.py`), the token endpoint for apps
(`app_flows.py`: client credentials and federated-credential matching) and for users (`user_flows.py`:
on-behalf-of), and the claims of the tokens it signs (`tokens.py`, `user_tokens.py`). `service.py` ties
them together behind one `Entra` object that the HTTP routes in `routes.py` call."""
